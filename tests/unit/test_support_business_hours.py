"""SLA business hours (CONTRACTS §11): the business-time arithmetic as pure
functions, and the calendar through the SLA policy on SQLite (validation,
due times of new cases, recomputing open cases)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.support import business_hours
from services.support.business_hours import BadCalendar, add_business_seconds, business_seconds_between, parse_calendar
from tests.support.auth import headers
from tests.unit.test_support_service import open_case, published, staff, support  # noqa: F401

MADRID = {"timezone": "Europe/Madrid", "holidays_country": "ES",
          "hours": {d: ["09:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
HOUR = 3600


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


@pytest.fixture
def madrid():
    return parse_calendar(MADRID)


def test_inside_the_window_business_time_is_clock_time(madrid):
    assert add_business_seconds(utc("2026-11-03T10:00:00+01:00"), 2 * HOUR, madrid) == utc("2026-11-03T12:00:00+01:00")


def test_time_outside_the_window_waits_for_the_next_opening(madrid):
    # Tuesday 17:00 + 2 h: one hour on Tuesday, one on Wednesday from 09:00.
    assert add_business_seconds(utc("2026-11-03T17:00:00+01:00"), 2 * HOUR, madrid) == utc("2026-11-04T10:00:00+01:00")
    # Saturday night: Monday 09:00 + 1 h.
    assert add_business_seconds(utc("2026-11-07T23:00:00+01:00"), HOUR, madrid) == utc("2026-11-09T10:00:00+01:00")


def test_public_holidays_are_closed(madrid):
    # 2026-12-08 (Tuesday) is a national holiday in Spain: Monday 17:30 + 1 h → Wednesday 09:30.
    assert add_business_seconds(utc("2026-12-07T17:30:00+01:00"), HOUR, madrid) == utc("2026-12-09T09:30:00+01:00")
    assert business_hours.is_holiday(madrid, datetime(2026, 12, 8).date())


def test_a_clock_change_counts_real_seconds(madrid):
    # Friday 2026-10-23 17:00 CEST + 2 h: 1 h on Friday, then Monday 26th (CET) 09:00 + 1 h.
    assert add_business_seconds(utc("2026-10-23T17:00:00+02:00"), 2 * HOUR, madrid) == utc("2026-10-26T10:00:00+01:00")


def test_between_is_the_inverse_of_adding(madrid):
    start = utc("2026-11-06T16:15:00+01:00")
    for seconds in (1, HOUR, 9 * HOUR, 40 * HOUR + 17):
        assert business_seconds_between(start, add_business_seconds(start, seconds, madrid), madrid) == seconds


def test_without_a_calendar_time_is_24_7():
    start = utc("2026-11-07T23:00:00+01:00")
    assert add_business_seconds(start, HOUR, None) == utc("2026-11-08T00:00:00+01:00")


@pytest.mark.parametrize("bad, field", [
    ({**MADRID, "timezone": "Mars/Olympus"}, "calendar.timezone"),
    ({**MADRID, "holidays_country": "XX"}, "calendar.holidays_country"),
    ({**MADRID, "hours": {"mon": ["18:00", "09:00"]}}, "calendar.hours.mon"),
    ({**MADRID, "hours": {"lun": ["09:00", "18:00"]}}, "calendar.hours.lun"),
    ({**MADRID, "hours": {"mon": ["9", "18:00"]}}, "calendar.hours.mon"),
    ({**MADRID, "hours": {}}, "calendar.hours"),
    ({**MADRID, "holidays_subdivision": "ZZ"}, "calendar.holidays_subdivision"),
])
def test_a_bad_calendar_names_its_field(bad, field):
    with pytest.raises(BadCalendar) as exc:
        parse_calendar(bad)
    assert field in exc.value.errors


# -- through the API -------------------------------------------------------------------

def test_the_policy_takes_a_calendar_and_new_cases_count_business_time(support):
    client = support.client
    assert "calendar" not in client.get("/api/v1/sla-policy", headers=headers("readonly")).json  # 24/7
    reply = client.put("/api/v1/sla-policy", json={"calendar": MADRID}, headers=headers("manager"))
    assert reply.status_code == 200, reply.json
    assert reply.json["calendar"]["hours"]["mon"] == ["09:00", "18:00"] and reply.json["urgent"]
    case = open_case(client, priority="urgent")  # 1 h to respond, 4 h to resolve, in business time
    opened = datetime.fromisoformat(case["created_at"])
    calendar = parse_calendar(MADRID)
    assert datetime.fromisoformat(case["first_response_due_at"]) == add_business_seconds(opened, HOUR, calendar)
    assert datetime.fromisoformat(case["resolution_due_at"]) == add_business_seconds(opened, 4 * HOUR, calendar)
    event = published(support.db, "support.sla_policy.updated")[-1]
    assert event["data"]["calendar"]["timezone"] == "Europe/Madrid"


def test_changing_the_calendar_recomputes_open_cases_and_null_goes_back_to_24_7(support):
    client = support.client
    case = open_case(client, priority="high")
    opened = datetime.fromisoformat(case["created_at"])
    client.put("/api/v1/sla-policy", json={"calendar": MADRID}, headers=headers("admin"))
    moved = client.get(f"/api/v1/cases/{case['id']}", headers=staff()).json
    assert datetime.fromisoformat(moved["resolution_due_at"]) == \
        add_business_seconds(opened, 24 * HOUR, parse_calendar(MADRID))
    assert moved["version"] == case["version"] + 1
    assert any(e["subject"] == case["id"] for e in published(support.db, "support.case.updated"))
    client.put("/api/v1/sla-policy", json={"calendar": None}, headers=headers("admin"))
    back = client.get(f"/api/v1/cases/{case['id']}", headers=staff()).json
    assert back["resolution_due_at"] == case["resolution_due_at"]


def test_a_bad_calendar_is_422_with_field_errors_and_changes_nothing(support):
    client = support.client
    bad = {**MADRID, "timezone": "Nowhere/Else", "hours": {"mon": ["10:00", "09:00"]}}
    reply = client.put("/api/v1/sla-policy", json={"calendar": bad, "urgent": {
        "first_response_seconds": 60, "resolution_seconds": 120}}, headers=headers("admin"))
    assert reply.status_code == 422
    assert {"calendar.timezone", "calendar.hours.mon"} <= set(reply.json["errors"])
    policy = client.get("/api/v1/sla-policy", headers=staff()).json
    assert "calendar" not in policy and policy["urgent"]["first_response_seconds"] == 3600
    assert client.put("/api/v1/sla-policy", json={"calendar": "24/7"}, headers=headers("admin")).status_code == 422


def test_a_calendar_too_thin_for_the_targets_is_422(support):
    thin = {"timezone": "UTC", "hours": {"sun": ["00:00", "00:01"]}}
    reply = support.client.put("/api/v1/sla-policy", json={"calendar": thin, "low": {
        "first_response_seconds": 60, "resolution_seconds": 366 * 24 * 3600}}, headers=headers("admin"))
    assert reply.status_code == 422 and "calendar.hours" in reply.json["errors"]
