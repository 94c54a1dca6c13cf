"""The event history (CONTRACTS §10) and the timeline over it, on SQLite:
topic patterns, paging, filters, who reads what, and bad parameters."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from shared.bus import topic_matches
from shared.events import new_event

from gateway import history, timeline
from gateway.topics import matches, pattern_problem, to_regex

ACCOUNT = str(uuid.uuid4())
OTHER = str(uuid.uuid4())
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def gateway(sqlite_build):
    return sqlite_build("gateway")


def token(gateway, email="admin@cadena.local", password="admin"):
    reply = gateway.client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return {"Authorization": "Bearer " + reply.get_json()["access_token"]}


def event(type_, subject, data, minutes=0):
    made = new_event(source=type_.split(".")[0], type=type_, subject=subject, data=data)
    made["time"] = (T0 + timedelta(minutes=minutes)).isoformat()
    return made


def story():
    """A customer's life across services, one minute apart, plus events of no customer."""
    deal = str(uuid.uuid4())
    return [
        event("accounts.account.created", ACCOUNT, {"id": ACCOUNT, "name": "Bodegas Valdeolmos"}, 0),
        event("accounts.contact.created", "c1", {"id": "c1", "account_id": ACCOUNT, "first_name": "Pepe"}, 1),
        event("opportunities.opportunity.created", deal, {"id": deal, "account_id": ACCOUNT, "name": "ERP"}, 2),
        event("identity.user.created", "u1", {"id": "u1", "email": "u@x.es", "name": "U", "role": "rep",
                                               "active": True}, 3),
        event("opportunities.opportunity.won", deal, {"opportunity_id": deal, "account": {"id": ACCOUNT}}, 4),
        event("support.case.opened", "k1", {"id": "k1", "account_id": OTHER, "number": 7}, 5),
        event("accounts.account.updated", ACCOUNT, {"id": ACCOUNT, "name": "Bodegas Valdeolmos S.A."}, 6),
    ]


@pytest.fixture
def stored(gateway):
    events = story()
    with gateway.db.transaction() as uow:
        for e in events:
            history.record(e, uow)
        history.record(events[0], uow)  # a redelivery keeps one copy
    return events


def all_pages(client, path, headers, limit=2):
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        reply = client.get(f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert reply.status_code == 200, reply.get_json()
        body = reply.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


# -- topic patterns ------------------------------------------------------------------------

def test_patterns_match_as_the_broker_does_on_every_small_case():
    words = ["a", "b", "*", "#"]
    keys = ["a", "b", "a.b", "b.a", "a.a", "a.b.c", "a.b.a", "a.x.b", "b.b.b.b", "a.b.b"]
    for size in range(1, 5):
        for pattern in (".".join(p) for p in itertools.product(words, repeat=size)):
            for key in keys:
                assert matches(pattern, key) == topic_matches(pattern, key), (pattern, key, to_regex(pattern))


@given(st.lists(st.sampled_from(["accounts", "won", "*", "#"]), min_size=1, max_size=5),
       st.lists(st.sampled_from(["accounts", "won", "x"]), min_size=1, max_size=5))
def test_patterns_match_as_the_broker_does(pattern_words, key_words):
    pattern, key = ".".join(pattern_words), ".".join(key_words)
    assert matches(pattern, key) == topic_matches(pattern, key)


@pytest.mark.parametrize("pattern", ["", "accounts..created", "accounts.acc*", "a b", "accounts.#." * 40, "a.%"])
def test_what_is_not_a_pattern_says_so(pattern):
    assert pattern_problem(pattern)


# -- the history ---------------------------------------------------------------------------

def test_every_event_is_kept_once_and_read_oldest_first_as_cloudevents(gateway, stored):
    items = all_pages(gateway.client, "/api/v1/events", token(gateway))
    assert [i["id"] for i in items] == [e["id"] for e in stored]
    assert items[0] == stored[0]  # the CloudEvent itself, extensions and all


@pytest.mark.parametrize("pattern, expected", [
    ("accounts.#", [0, 1, 6]), ("*.opportunity.won", [4]), ("opportunities.*.*", [2, 4]),
    ("accounts.account.created", [0]), ("#.created", [0, 1, 2, 3]), ("#", list(range(7))), ("nothing.#", []),
])
def test_type_patterns_filter_in_the_database(gateway, stored, pattern, expected):
    items = all_pages(gateway.client, f"/api/v1/events?type={pattern.replace('#', '%23')}", token(gateway))
    assert [i["id"] for i in items] == [stored[n]["id"] for n in expected]


def test_subject_since_and_cursor_combine(gateway, stored):
    since = (T0 + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    items = all_pages(gateway.client, f"/api/v1/events?subject={ACCOUNT}&since={since}", token(gateway), limit=1)
    assert [i["id"] for i in items] == [stored[6]["id"]]
    items = all_pages(gateway.client, f"/api/v1/events?since={since}", token(gateway), limit=1)
    assert [i["id"] for i in items] == [e["id"] for e in stored[2:]]


def test_a_customers_events_are_those_that_concern_it(gateway, stored):
    items = all_pages(gateway.client, f"/api/v1/customers/{ACCOUNT}/events", token(gateway))
    assert [i["type"] for i in items] == ["accounts.account.created", "accounts.contact.created",
                                          "opportunities.opportunity.created", "opportunities.opportunity.won",
                                          "accounts.account.updated"]
    since = (T0 + timedelta(minutes=4)).isoformat()
    later = gateway.client.get(f"/api/v1/customers/{ACCOUNT}/events",
                               query_string={"since": since}, headers=token(gateway)).get_json()
    assert [i["id"] for i in later["items"]] == [stored[4]["id"], stored[6]["id"]]


def test_the_timeline_is_a_newest_first_view_of_the_customers_events(gateway, stored):
    items = all_pages(gateway.client, f"/api/v1/customers/{ACCOUNT}/timeline", token(gateway))
    assert [i["id"] for i in items] == [stored[n]["id"] for n in (6, 4, 2, 1, 0)]
    assert items[0]["summary"] == "Account “Bodegas Valdeolmos S.A.” updated"
    assert items[0]["service"] == "accounts" and items[0]["data"] == stored[6]["data"]
    assert timeline.account_of(stored[4]) == ACCOUNT


def test_roles_below_manager_read_only_the_events_of_customers(gateway, stored):
    admin = token(gateway)
    for role in ("rep", "manager"):
        reply = gateway.client.post("/api/v1/users", headers=admin, json={
            "email": f"{role}@x.es", "name": role, "role": role, "password": "s3cret-pass"})
        assert reply.status_code == 201
    rep = all_pages(gateway.client, "/api/v1/events", token(gateway, "rep@x.es", "s3cret-pass"))
    assert "identity.user.created" not in {i["type"] for i in rep} and len(rep) == 6
    manager = all_pages(gateway.client, "/api/v1/events?type=identity.%23", token(gateway, "manager@x.es",
                                                                                   "s3cret-pass"))
    assert [i["type"] for i in manager] == ["identity.user.created"]  # (no worker here: only the story's)


@pytest.mark.parametrize("query", ["type=accounts..x", "type=a%20b", "since=yesterday", "since=2026-03-01T09:00:00",
                                   "limit=0", "limit=201", "cursor=garbage", "subject="])
def test_bad_parameters_are_422(gateway, stored, query):
    reply = gateway.client.get(f"/api/v1/events?{query}", headers=token(gateway))
    assert reply.status_code == 422 and reply.mimetype == "application/problem+json"
    assert reply.get_json()["errors"]


def test_a_customers_events_refuse_bad_parameters_and_need_a_token(gateway):
    assert gateway.client.get(f"/api/v1/customers/{ACCOUNT}/events?since=x", headers=token(gateway)).status_code == 422
    assert gateway.client.get(f"/api/v1/customers/{ACCOUNT}/events").status_code == 401
