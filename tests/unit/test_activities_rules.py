"""Activities at unit level: the pure rules, the calendar feed parsed back by a
standard parser, and the use cases through the HTTP API on SQLite (no broker;
links to other services answered by a fake)."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import icalendar
import pytest
from sqlalchemy import select

from shared import events
from shared.auth import upsert_user
from shared.db import utcnow
from tests.support.auth import headers

from services.activities import rules
from services.activities.calendar import build_calendar, uid
from services.activities.jobs import publish_due_reminders
from services.activities.links import Unverifiable

UTC = timezone.utc
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


# -- rules ------------------------------------------------------------------------

@pytest.mark.parametrize("values, field", [
    ({"type": "meeting", "subject": "x"}, "starts_at"),
    ({"type": "visit", "subject": "x", "due_at": T0}, "starts_at"),
    ({"type": "task", "subject": "x", "starts_at": T0}, "due_at"),
    ({"type": "call", "subject": "x"}, "starts_at"),
    ({"type": "fax", "subject": "x"}, "type"),
    ({"type": "call", "subject": "", "starts_at": T0}, "subject"),
    ({"type": "meeting", "subject": "x", "starts_at": T0, "ends_at": T0}, "ends_at"),
    ({"type": "meeting", "subject": "x", "starts_at": T0, "ends_at": T0 - timedelta(minutes=1)}, "ends_at"),
    ({"type": "task", "subject": "x", "due_at": T0, "ends_at": T0}, "ends_at"),
])
def test_invalid_activities_name_the_field(values, field):
    assert field in rules.check_activity(values)


@pytest.mark.parametrize("values", [
    {"type": "meeting", "subject": "x", "starts_at": T0, "ends_at": T0 + timedelta(hours=1)},
    {"type": "visit", "subject": "x", "starts_at": T0},
    {"type": "call", "subject": "x", "due_at": T0},
    {"type": "call", "subject": "x", "starts_at": T0},
    {"type": "task", "subject": "x", "due_at": T0},
    {"type": "email", "subject": "x"},
])
def test_valid_activities_pass(values):
    assert rules.check_activity(values) == {}


def test_status_transitions():
    assert rules.transition_allowed("planned", "done")
    assert rules.transition_allowed("planned", "cancelled")
    assert rules.transition_allowed("cancelled", "planned")
    assert rules.transition_allowed("done", "done")
    assert not rules.transition_allowed("done", "planned")
    assert not rules.transition_allowed("cancelled", "done")


def test_overdue_means_open_and_past_due():
    assert rules.is_overdue("planned", T0, T0 + timedelta(seconds=1))
    assert not rules.is_overdue("planned", T0, T0 - timedelta(seconds=1))
    assert not rules.is_overdue("done", T0, T0 + timedelta(days=1))
    assert not rules.is_overdue("planned", None, T0)


def test_agenda_time_and_window():
    assert rules.agenda_time({"starts_at": T0, "due_at": T0 + timedelta(days=1)}) == T0
    assert rules.agenda_time({"due_at": T0}) == T0
    day = (T0, T0 + timedelta(days=1))
    assert rules.in_window(T0, None, *day)
    assert not rules.in_window(T0 + timedelta(days=1), None, *day)  # the end is exclusive
    assert rules.in_window(T0 - timedelta(hours=1), T0 + timedelta(minutes=30), *day)  # still going on
    assert not rules.in_window(T0 - timedelta(hours=1), T0, *day)
    assert rules.calendar_span("meeting", T0, None) == (T0, T0 + timedelta(hours=1))
    assert rules.calendar_span("task", None, None) is None


# -- the feed, parsed back ------------------------------------------------------------

@dataclass
class FakeActivity:
    id: str
    type: str
    subject: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    due_at: datetime | None = None
    remind_at: datetime | None = None
    location: str | None = None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    case_id: str | None = None
    notes: str | None = None
    version: int = 1
    created_at: datetime = T0 - timedelta(days=2)
    updated_at: datetime = T0 - timedelta(days=1)


def test_calendar_feed_is_rfc5545_and_parses_back():
    account = str(uuid.uuid4())
    meeting = FakeActivity(str(uuid.uuid4()), "meeting", "Revisión del contrato", starts_at=T0,
                           ends_at=T0 + timedelta(hours=2), notes="Traer propuesta", account_id=account,
                           remind_at=T0 - timedelta(minutes=15), version=3)
    visit = FakeActivity(str(uuid.uuid4()), "visit", "Visita a planta", starts_at=T0 + timedelta(days=1),
                         account_id=account)
    task = FakeActivity(str(uuid.uuid4()), "task", "Enviar oferta", due_at=datetime(2026, 11, 25, 17, tzinfo=UTC))
    body = build_calendar("Cadena: Marta", [meeting, visit, task], labels={account: "Bodegas Valdeolmos S.A."},
                          addresses={account: "Calle Mayor 1, 26200 Haro, ES"})
    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["version"]) == "2.0" and "Cadena" in str(cal["prodid"])
    found = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert set(found) == {uid(meeting.id), uid(visit.id), uid(task.id)}

    m = found[uid(meeting.id)]
    assert m.decoded("dtstart") == T0 and m.decoded("dtstart").tzinfo is not None
    assert m.decoded("dtend") == T0 + timedelta(hours=2)
    assert m.decoded("dtstamp") == meeting.updated_at
    assert str(m["summary"]) == "Revisión del contrato"
    assert "Traer propuesta" in str(m["description"]) and "Bodegas Valdeolmos" in str(m["description"])
    assert int(m["sequence"]) == 2
    alarm = m.walk("VALARM")[0]
    assert alarm.decoded("trigger") == meeting.remind_at
    assert b"DTSTART:20261123T090000Z" in body  # UTC, not floating

    v = found[uid(visit.id)]
    assert str(v["location"]) == "Calle Mayor 1, 26200 Haro, ES"  # a visit happens at the customer's
    assert v.decoded("dtend") - v.decoded("dtstart") == rules.DEFAULT_DURATION["visit"]

    t = found[uid(task.id)]
    assert t.decoded("dtstart") == date(2026, 11, 25)  # all-day on its due date
    assert t.decoded("dtend") == date(2026, 11, 26)
    assert str(t["summary"]).startswith("Task:")

    again = build_calendar("Cadena: Marta", [meeting, visit, task], labels={account: "Bodegas Valdeolmos S.A."},
                           addresses={account: "Calle Mayor 1, 26200 Haro, ES"})
    assert again == body  # stable between fetches: UIDs and DTSTAMPs do not move


# -- the accounts view rule ---------------------------------------------------------------

def test_engagement_time_is_never_later_than_the_record():
    from services.accounts.on_activities import engaged_at

    past = {"starts_at": "2026-11-20T10:00:00+00:00"}
    future = {"starts_at": "2026-12-20T10:00:00Z"}
    assert engaged_at(past, T0) == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert engaged_at(future, T0) == T0
    assert engaged_at({}, T0) == T0


# -- use cases through the API (SQLite) ----------------------------------------------------

class FakeOwners:
    """Stands in for the accounts, opportunities and support services."""

    def __init__(self):
        self.records: dict[tuple[str, str], dict] = {}
        self.down: set[str] = set()
        self.calls: list[tuple[str, str]] = []

    def add(self, kind: str, **data) -> str:
        data.setdefault("id", str(uuid.uuid4()))
        self.records[(kind, data["id"])] = data
        return data["id"]

    def __call__(self, kind, record_id, principal):
        self.calls.append((kind, record_id))
        assert principal.token  # the caller's token is forwarded
        if kind in self.down:
            raise Unverifiable({"opportunity": "opportunities", "case": "support"}.get(kind, "accounts"), "unreachable")
        return self.records.get((kind, record_id))


@pytest.fixture
def svc(sqlite_build):
    built = sqlite_build("activities")
    owners = FakeOwners()
    built.app.extensions["cadena"].links.fetch = owners
    built.owners = owners
    return built


def rep(team="Iberia"):
    user_id = str(uuid.uuid4())
    return user_id, headers("rep", user_id, team)


def add_user(built, user_id, role="rep", team="Iberia", active=True):
    with built.db.transaction() as uow:
        upsert_user(uow.session, built.db, {"id": user_id, "email": f"{user_id[:8]}@example.test", "name": "Marta Ruiz",
                                             "role": role, "team": team, "active": active})


def outbox(built, routing_key=None) -> list[dict]:
    table = built.db.tables.outbox
    with built.db.engine.connect() as conn:
        rows = conn.execute(select(table.c.routing_key, table.c.body).order_by(table.c.id)).all()
    return [events.decode(bytes(r.body)) for r in rows if routing_key in (None, r.routing_key)]


def meeting(**extra):
    body = {"type": "meeting", "subject": "Kick-off", "starts_at": iso(T0), "ends_at": iso(T0 + timedelta(hours=1))}
    body.update(extra)
    return body


def test_create_returns_201_planned_with_location_etag_and_event(svc):
    user, h = rep()
    account = svc.owners.add("account", name="Bodegas Valdeolmos S.A.")
    r = svc.client.post("/api/v1/activities", json=meeting(account_id=account, agreements=["Enviar oferta"]), headers=h)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "planned" and body["owner_id"] == user and body["version"] == 1
    assert body["starts_at"] == "2026-11-23T09:00:00+00:00" and body["overdue"] is False
    assert body["agreements"] == ["Enviar oferta"]
    assert r.headers["Location"] == f"/api/v1/activities/{body['id']}" and r.headers["ETag"] == '"1"'
    [event] = outbox(svc, "activities.activity.created")
    assert event["subject"] == body["id"] and event["data"]["account_id"] == account
    assert event["data"]["subject"] == "Kick-off" and "overdue" not in event["data"]
    got = svc.client.get(f"/api/v1/activities/{body['id']}", headers=h)
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'


@pytest.mark.parametrize("body, field", [
    ({"type": "meeting", "subject": "x"}, "starts_at"),
    ({"type": "task", "subject": "x"}, "due_at"),
    ({"type": "meeting", "subject": "x", "starts_at": "2026-11-23T10:00:00+00:00",
      "ends_at": "2026-11-23T09:00:00+00:00"}, "ends_at"),
    ({"type": "meeting", "subject": "x", "starts_at": "2026-11-23T10:00:00"}, "starts_at"),  # naive
    ({"type": "party", "subject": "x"}, "type"),
    ({"type": "call", "starts_at": "2026-11-23T10:00:00Z", "colour": "red"}, "colour"),
    ({"type": "call", "starts_at": "2026-11-23T10:00:00Z", "status": "cancelled"}, "status"),
    ({"type": "call", "starts_at": "2026-11-23T10:00:00Z", "agreements": 42}, "agreements"),
    ({"type": "call", "starts_at": "2026-11-23T10:00:00Z", "agreements": [{"nested": {"no": 1}}]}, "agreements"),
    ({"type": "call", "starts_at": "0001-01-01T00:00:00Z"}, "starts_at"),
])
def test_invalid_bodies_are_422_naming_the_field(svc, body, field):
    _, h = rep()
    r = svc.client.post("/api/v1/activities", json=body, headers=h)
    assert r.status_code == 422, r.get_json()
    assert r.mimetype == "application/problem+json"
    assert field in r.get_json()["errors"]


def test_defaults_subject_from_type_and_email_time(svc):
    _, h = rep()
    r = svc.client.post("/api/v1/activities", json={"type": "email"}, headers=h)
    assert r.status_code == 201
    assert r.get_json()["subject"] == "E-mail" and r.get_json()["starts_at"] is not None


def test_an_email_without_times_keeps_its_place(svc):
    _, h = rep()
    a = svc.client.post("/api/v1/activities", json={"type": "task", "due_at": iso(T0)}, headers=h).get_json()
    r = svc.client.patch(f"/api/v1/activities/{a['id']}", json={"type": "email", "due_at": None}, headers=h)
    assert r.status_code == 200, r.get_json()
    listed = svc.client.get("/api/v1/activities?sort=time", headers=h).get_json()["items"]
    assert [i["id"] for i in listed] == [a["id"]]


def test_unknown_links_are_422(svc):
    _, h = rep()
    r = svc.client.post("/api/v1/activities", json=meeting(account_id=str(uuid.uuid4()),
                                                           contact_id=str(uuid.uuid4())), headers=h)
    assert r.status_code == 422
    assert set(r.get_json()["errors"]) == {"account_id", "contact_id"}
    assert outbox(svc) == []


def test_a_link_that_cannot_be_verified_is_refused_naming_it(svc):
    _, h = rep()
    svc.owners.down.add("opportunity")
    r = svc.client.post("/api/v1/activities", json=meeting(opportunity_id=str(uuid.uuid4())), headers=h)
    assert r.status_code == 503 and r.headers["Retry-After"]
    problem = r.get_json()
    assert problem["type"].endswith("/owner-unavailable") and "opportunity_id" in problem["errors"]
    assert "opportunities" in problem["errors"]["opportunity_id"][0]


def test_a_replica_miss_asks_once_then_the_replica_answers(svc):
    _, h = rep()
    account = svc.owners.add("account", name="Nueva S.L.")
    for _ in range(2):
        assert svc.client.post("/api/v1/activities", json=meeting(account_id=account), headers=h).status_code == 201
    assert svc.owners.calls == [("account", account)]


def test_links_known_from_events_need_no_call_and_deleted_ones_are_refused(svc):
    from services.activities import handlers

    account, case = str(uuid.uuid4()), str(uuid.uuid4())
    with svc.db.transaction() as uow:
        handlers.on_account_changed({"type": "accounts.account.created", "data": {"id": account, "name": "A"}}, uow)
        handlers.on_case_changed({"type": "support.case.opened",
                                  "data": {"id": case, "number": 7, "subject": "Caída", "account_id": account}}, uow)
    _, h = rep()
    r = svc.client.post("/api/v1/activities", json=meeting(case_id=case), headers=h)
    assert r.status_code == 201
    assert r.get_json()["account_id"] == account  # taken from the case
    with svc.db.transaction() as uow:
        handlers.on_account_deleted({"type": "accounts.account.deleted", "data": {"id": account}}, uow)
    r = svc.client.post("/api/v1/activities", json=meeting(account_id=account), headers=h)
    assert r.status_code == 422 and "account_id" in r.get_json()["errors"]
    assert svc.owners.calls == []


def test_the_account_is_taken_from_a_contact(svc):
    _, h = rep()
    account = svc.owners.add("account", name="A")
    contact = svc.owners.add("contact", first_name="Ana", account_id=account)
    r = svc.client.post("/api/v1/activities", json=meeting(contact_id=contact), headers=h)
    assert r.get_json()["account_id"] == account


def test_permissions(svc):
    owner, h_owner = rep()
    _, h_other = rep()
    manager_id = str(uuid.uuid4())
    add_user(svc, owner)
    r = svc.client.post("/api/v1/activities", json=meeting(owner_id=str(uuid.uuid4())), headers=h_owner)
    assert r.status_code == 403  # a rep creates only what it owns
    assert svc.client.post("/api/v1/activities", json=meeting(), headers=headers("readonly")).status_code == 403
    assert svc.client.post("/api/v1/activities", json=meeting(), headers=headers("support")).status_code == 201
    created = svc.client.post("/api/v1/activities", json=meeting(), headers=h_owner).get_json()
    path = f"/api/v1/activities/{created['id']}"
    assert svc.client.patch(path, json={"subject": "mine?"}, headers=h_other).status_code == 403
    assert svc.client.post(path + "/complete", json={}, headers=h_other).status_code == 403
    assert svc.client.delete(path, headers=h_other).status_code == 403
    assert svc.client.get(path, headers=h_other).status_code == 200  # everyone reads
    assert svc.client.patch(path, json={"subject": "team"}, headers=headers("manager", manager_id, "LatAm")).status_code == 403
    r = svc.client.patch(path, json={"subject": "team"}, headers=headers("manager", manager_id, "Iberia"))
    assert r.status_code == 200 and r.get_json()["subject"] == "team"
    assert svc.client.patch(path, json={"subject": "admin"}, headers=headers("admin")).status_code == 200


def test_patch_with_stale_if_match_is_412_and_versions_move(svc):
    _, h = rep()
    created = svc.client.post("/api/v1/activities", json=meeting(), headers=h).get_json()
    path = f"/api/v1/activities/{created['id']}"
    r = svc.client.patch(path, json={"notes": "Agenda: precios"}, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 200 and r.get_json()["version"] == 2 and r.headers["ETag"] == '"2"'
    r = svc.client.patch(path, json={"notes": "otra"}, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 412 and r.mimetype == "application/problem+json"
    r = svc.client.patch(path, json={"starts_at": iso(T0 + timedelta(hours=3))}, headers=h)
    assert r.status_code == 422 and "ends_at" in r.get_json()["errors"]  # merged with the stored ends_at
    assert [e["type"] for e in outbox(svc)] == ["activities.activity.created", "activities.activity.updated"]


def test_complete_publishes_the_full_activity_once(svc):
    _, h = rep()
    created = svc.client.post("/api/v1/activities", json=meeting(), headers=h).get_json()
    path = f"/api/v1/activities/{created['id']}"
    r = svc.client.post(path + "/complete", json={"outcome": "Interesados", "notes": "Acta: revisamos precios",
                                                  "agreements": "Oferta antes del viernes"}, headers=h)
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert done["status"] == "done" and done["completed_at"] and done["agreements"] == "Oferta antes del viernes"
    again = svc.client.post(path + "/complete", json={}, headers=h)
    assert again.status_code == 409
    [event] = outbox(svc, "activities.activity.completed")
    assert event["data"]["notes"] == "Acta: revisamos precios" and event["data"]["status"] == "done"
    # minutes may still be edited; the status may not go back
    assert svc.client.patch(path, json={"notes": "Acta corregida"}, headers=h).status_code == 200
    assert svc.client.patch(path, json={"status": "planned"}, headers=h).status_code == 409
    assert len(outbox(svc, "activities.activity.completed")) == 1


def test_patch_status_done_completes_and_cancelled_cannot_be_completed(svc):
    _, h = rep()
    a = svc.client.post("/api/v1/activities", json=meeting(), headers=h).get_json()
    r = svc.client.patch(f"/api/v1/activities/{a['id']}", json={"status": "done", "outcome": "ok"}, headers=h)
    assert r.status_code == 200 and r.get_json()["completed_at"]
    assert [e["data"]["id"] for e in outbox(svc, "activities.activity.completed")] == [a["id"]]
    b = svc.client.post("/api/v1/activities", json=meeting(), headers=h).get_json()
    assert svc.client.patch(f"/api/v1/activities/{b['id']}", json={"status": "cancelled"}, headers=h).status_code == 200
    assert svc.client.post(f"/api/v1/activities/{b['id']}/complete", json={}, headers=h).status_code == 409
    assert len(outbox(svc, "activities.activity.cancelled")) == 1


def test_delete_is_soft_204_and_published(svc):
    _, h = rep()
    a = svc.client.post("/api/v1/activities", json=meeting(), headers=h).get_json()
    assert svc.client.delete(f"/api/v1/activities/{a['id']}", headers=h).status_code == 204
    assert svc.client.get(f"/api/v1/activities/{a['id']}", headers=h).status_code == 404
    assert svc.client.get("/api/v1/activities", headers=h).get_json()["items"] == []
    assert outbox(svc, "activities.activity.deleted")[0]["subject"] == a["id"]


def test_list_filters_sort_and_limits(svc):
    user, h = rep()
    for days in (3, 1, 2):
        svc.client.post("/api/v1/activities", json={"type": "task", "subject": f"d{days}",
                                                     "due_at": iso(T0 + timedelta(days=days))}, headers=h)
    svc.client.post("/api/v1/activities", json=meeting(), headers=rep()[1])
    r = svc.client.get(f"/api/v1/activities?owner_id={user}&sort=time&limit=2", headers=h).get_json()
    assert [a["subject"] for a in r["items"]] == ["d1", "d2"] and r["next_cursor"]
    rest = svc.client.get(f"/api/v1/activities?owner_id={user}&sort=time&limit=2&cursor={r['next_cursor']}", headers=h)
    assert [a["subject"] for a in rest.get_json()["items"]] == ["d3"]
    latest = svc.client.get(f"/api/v1/activities?owner_id={user}&sort=-time", headers=h).get_json()
    assert [a["subject"] for a in latest["items"]] == ["d3", "d2", "d1"]
    assert svc.client.get("/api/v1/activities?limit=0", headers=h).status_code == 422
    assert svc.client.get("/api/v1/activities?limit=201", headers=h).status_code == 422


def test_agenda_orders_by_time_and_flags_overdue_tasks(svc):
    user, h = rep()
    now = utcnow()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def make(body):
        r = svc.client.post("/api/v1/activities", json=body, headers=h)
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    late_task = make({"type": "task", "subject": "overdue task", "due_at": iso(now - timedelta(minutes=5))})
    call = make({"type": "call", "subject": "call", "starts_at": iso(day + timedelta(days=1, hours=9))})
    task = make({"type": "task", "subject": "due tomorrow", "due_at": iso(day + timedelta(days=1, hours=8))})
    visit = make({"type": "visit", "subject": "visit", "starts_at": iso(day + timedelta(days=2, hours=11))})
    outside = make({"type": "meeting", "subject": "next month", "starts_at": iso(day + timedelta(days=30))})
    done_task = make({"type": "task", "subject": "done late", "due_at": iso(now - timedelta(minutes=10))})
    svc.client.post(f"/api/v1/activities/{done_task}/complete", json={}, headers=h)
    svc.client.post("/api/v1/activities", json={"type": "call", "subject": "other rep",
                                                "starts_at": iso(day + timedelta(hours=12))}, headers=rep()[1])

    window = f"from={iso(day - timedelta(days=1))}&to={iso(day + timedelta(days=7))}".replace("+", "%2B")
    r = svc.client.get(f"/api/v1/agenda?owner_id={user}&{window}", headers=h)
    assert r.status_code == 200, r.get_json()
    items = r.get_json()["items"]
    assert [i["id"] for i in items] == [done_task, late_task, task, call, visit]
    assert outside not in [i["id"] for i in items]
    overdue = {i["id"]: i["overdue"] for i in items}
    assert overdue == {done_task: False, late_task: True, task: False, call: False, visit: False}
    # the caller's own agenda by default, this week from today
    mine = svc.client.get("/api/v1/agenda", headers=h).get_json()
    assert mine["owner_id"] == user and {call, task, visit} <= {i["id"] for i in mine["items"]}


@pytest.mark.parametrize("query", ["from=2026-11-23T00:00:00", "from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z",
                                   "from=2026-01-01T00:00:00Z&to=2027-06-01T00:00:00Z", "owner_id=nope"])
def test_agenda_rejects_bad_windows(svc, query):
    _, h = rep()
    r = svc.client.get(f"/api/v1/agenda?{query}", headers=h)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"


def test_reminders_fire_once_and_rearm_when_remind_at_changes(svc):
    _, h = rep()
    now = utcnow()
    a = svc.client.post("/api/v1/activities", json=meeting(remind_at=iso(now - timedelta(seconds=1)),
                                                           starts_at=iso(now + timedelta(hours=1)), ends_at=None),
                        headers=h).get_json()
    svc.client.post("/api/v1/activities", json=meeting(remind_at=iso(now + timedelta(hours=1))), headers=h)
    cancelled = svc.client.post("/api/v1/activities", json=meeting(remind_at=iso(now - timedelta(seconds=1))),
                                headers=h).get_json()
    svc.client.patch(f"/api/v1/activities/{cancelled['id']}", json={"status": "cancelled"}, headers=h)

    publish_due_reminders(svc.db)
    publish_due_reminders(svc.db)
    [reminder] = outbox(svc, "activities.activity.reminder_due")
    assert reminder["subject"] == a["id"]
    assert reminder["data"]["activity_id"] == a["id"] and reminder["data"]["owner_id"] == a["owner_id"]
    assert reminder["data"]["subject"] == "Kick-off"
    assert datetime.fromisoformat(reminder["data"]["remind_at"]) == datetime.fromisoformat(a["remind_at"])
    got = svc.client.get(f"/api/v1/activities/{a['id']}", headers=h).get_json()
    assert got["reminder_sent_at"] and got["version"] == a["version"]  # marking it is not a change

    later = now + timedelta(minutes=10)
    r = svc.client.patch(f"/api/v1/activities/{a['id']}", json={"remind_at": iso(later)}, headers=h)
    assert r.get_json()["reminder_sent_at"] is None
    publish_due_reminders(svc.db)
    assert len(outbox(svc, "activities.activity.reminder_due")) == 1
    publish_due_reminders(svc.db, now=later + timedelta(seconds=1))
    reminders = outbox(svc, "activities.activity.reminder_due")
    assert [e["subject"] for e in reminders] == [a["id"], a["id"]]
    assert reminders[0]["id"] != reminders[1]["id"]


def test_calendar_token_feed_and_rotation(svc):
    user, h = rep()
    add_user(svc, user)
    account = svc.owners.add("account", name="Hotel Costa Azahar S.L.", city="Castellón de la Plana", country="ES")
    visit = svc.client.post("/api/v1/activities", json={"type": "visit", "subject": "Visita", "account_id": account,
                                                         "starts_at": iso(T0)}, headers=h).get_json()
    task = svc.client.post("/api/v1/activities", json={"type": "task", "subject": "Oferta", "due_at": iso(T0)},
                           headers=h).get_json()
    done = svc.client.post("/api/v1/activities", json=meeting(), headers=h).get_json()
    svc.client.post(f"/api/v1/activities/{done['id']}/complete", json={}, headers=h)

    r = svc.client.get(f"/api/v1/users/{user}/calendar-token", headers=h)
    assert r.status_code == 200
    token, url = r.get_json()["token"], r.get_json()["url"]
    assert url.endswith(f"/api/v1/users/{user}/calendar.ics?token={token}")
    assert svc.client.get(f"/api/v1/users/{user}/calendar-token", headers=h).get_json()["token"] == token
    assert svc.client.get(f"/api/v1/users/{user}/calendar-token", headers=rep()[1]).status_code == 403
    assert svc.client.get(f"/api/v1/users/{user}/calendar-token", headers=headers("admin")).get_json()["token"] == token

    feed = svc.client.get(f"/api/v1/users/{user}/calendar.ics?token={token}")  # no bearer token
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(feed.data)
    uids = {str(e["uid"]) for e in cal.walk("VEVENT")}
    assert uids == {uid(visit["id"]), uid(task["id"])}  # planned ones only
    [v] = [e for e in cal.walk("VEVENT") if str(e["uid"]) == uid(visit["id"])]
    assert "Castellón de la Plana" in str(v["location"])

    wrong = svc.client.get(f"/api/v1/users/{user}/calendar.ics?token=nope")
    assert wrong.status_code == 404 and wrong.mimetype == "application/problem+json"
    assert svc.client.get(f"/api/v1/users/{user}/calendar.ics").status_code == 404
    assert svc.client.get(f"/api/v1/users/{uuid.uuid4()}/calendar.ics?token={token}").status_code == 404

    rotated = svc.client.post(f"/api/v1/users/{user}/calendar-token", headers=h).get_json()["token"]
    assert rotated != token
    assert svc.client.get(f"/api/v1/users/{user}/calendar.ics?token={token}").status_code == 404
    assert svc.client.get(f"/api/v1/users/{user}/calendar.ics?token={rotated}").status_code == 200
    assert svc.client.post(f"/api/v1/users/{user}/calendar-token", headers=headers("readonly")).status_code == 403


def test_last_activity_at_keeps_the_max_and_is_idempotent(sqlite_build):
    from services.accounts.models import AccountView
    from services.accounts.on_activities import on_activity_recorded

    accounts = sqlite_build("accounts")
    account = str(uuid.uuid4())

    def apply(kind, **data):
        event = {"id": str(uuid.uuid4()), "type": f"activities.activity.{kind}", "time": iso(T0),
                 "data": {"account_id": account, **data}}
        with accounts.db.transaction() as uow:
            on_activity_recorded(event, uow)

    def last():
        with accounts.db.sessions() as session:
            return session.get(AccountView, account).last_activity_at

    apply("completed", starts_at=iso(T0 - timedelta(days=3)), completed_at=iso(T0))
    assert last() == T0 - timedelta(days=3)
    apply("completed", starts_at=iso(T0 - timedelta(days=3)), completed_at=iso(T0))
    apply("created", starts_at=iso(T0 - timedelta(days=10)), created_at=iso(T0))  # older: kept the max
    assert last() == T0 - timedelta(days=3)
    apply("created", starts_at=iso(T0 + timedelta(days=30)), created_at=iso(T0 - timedelta(days=1)))
    assert last() == T0 - timedelta(days=1)  # planned for later: counted when it was recorded
    apply("created", starts_at=iso(T0))  # no account: ignored
    assert last() == T0


def test_handover_moves_open_activities_and_reports(svc):
    from services.activities.handlers import HANDLERS

    source, h = rep()
    target = str(uuid.uuid4())
    open_one = svc.client.post("/api/v1/activities", json=meeting(), headers=h).get_json()
    done = svc.client.post("/api/v1/activities", json=meeting(), headers=h).get_json()
    svc.client.post(f"/api/v1/activities/{done['id']}/complete", json={}, headers=h)
    for handover_id in ("h-1", "h-2"):  # a second request for the same user finds nothing left
        event = {"id": str(uuid.uuid4()), "type": "identity.user.handover_requested",
                 "data": {"handover_id": handover_id, "from_user_id": source, "to_user_id": target}}
        with svc.db.transaction() as uow:
            HANDLERS["identity.user.handover_requested"](event, uow)
    moved = svc.client.get(f"/api/v1/activities/{open_one['id']}", headers=h).get_json()
    assert moved["owner_id"] == target and moved["version"] == 2
    assert svc.client.get(f"/api/v1/activities/{done['id']}", headers=h).get_json()["owner_id"] == source
    assert [e["data"] for e in outbox(svc, "activities.handover.completed")] == [
        {"handover_id": "h-1", "service": "activities", "moved": {"activities": 1}},
        {"handover_id": "h-2", "service": "activities", "moved": {"activities": 0}}]
    assert [e["subject"] for e in outbox(svc, "activities.activity.updated")] == [open_one["id"]]


def test_openapi_documents_the_public_feed():
    from gateway.openapi import service_spec

    spec = service_spec("activities")
    assert spec["paths"]["/api/v1/users/{user_id}/calendar.ics"]["get"]["security"] == []
    assert {"/api/v1/activities", "/api/v1/agenda", "/api/v1/activities/{activity_id}/complete",
            "/api/v1/users/{user_id}/calendar-token"} <= set(spec["paths"])
    json.dumps(spec)


def test_a_past_call_is_logged_done_in_one_call_with_both_events(svc):
    _, h = rep()
    reply = svc.client.post("/api/v1/activities", json={"type": "call", "subject": "Llamada de ayer", "status": "done",
                                                        "starts_at": iso(T0), "outcome": "interesado",
                                                        "notes": "Pide precios", "agreements": "Enviar oferta"},
                            headers=h)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["status"] == "done" and body["completed_at"] and body["agreements"] == "Enviar oferta"
    kinds = [e["type"] for e in outbox(svc) if e["subject"] == body["id"]]
    assert kinds == ["activities.activity.created", "activities.activity.completed"]
    cancelled = svc.client.post("/api/v1/activities", json=meeting(status="cancelled"), headers=h)
    assert cancelled.status_code == 422 and "status" in cancelled.get_json()["errors"]
