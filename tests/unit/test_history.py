"""Field history (CONTRACTS §10): the diff, the events' `changes` and
`actor_id`, and GET …/history, on accounts (SQLite, no broker)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from shared import events, history
from shared.auth import upsert_user
from shared.contracts import ContractViolation
from tests.support.auth import headers


# -- the diff ---------------------------------------------------------------------

def test_diff_names_only_the_fields_that_changed():
    before = {"id": "a", "version": 1, "name": "Acme", "city": "Haro", "tags": ["wine"]}
    after = {"id": "a", "version": 2, "name": "Acme", "city": "Logroño", "tags": ["wine"]}
    assert history.diff(before, after) == {"city": {"from": "Haro", "to": "Logroño"}}


def test_diff_keeps_money_as_amount_and_currency_and_times_as_rfc3339():
    when = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
    before = {"amount": {"amount": "100.00", "currency": "EUR"}, "close_date": "2026-03-31", "closed_at": None}
    after = {"amount": {"amount": "250.50", "currency": "EUR"}, "close_date": "2026-03-31", "closed_at": when}
    changes = history.diff(before, after)
    assert changes == {"amount": {"from": {"amount": "100.00", "currency": "EUR"},
                                  "to": {"amount": "250.50", "currency": "EUR"}},
                       "closed_at": {"from": None, "to": "2026-03-01T09:30:00+00:00"}}
    json.dumps(changes)  # every value is plain JSON


def test_diff_of_lists_and_nested_values_shows_them_whole():
    before = {"tags": ["a"], "billing_address": {"city": "Haro"}, "n": Decimal("1.50")}
    after = {"tags": ["a", "b"], "billing_address": {"city": "Haro"}, "n": Decimal("1.50")}
    assert history.diff(before, after) == {"tags": {"from": ["a"], "to": ["a", "b"]}}


def test_diff_leaves_out_bookkeeping_and_counts_a_missing_field_as_null():
    before = {"id": "x", "version": 3, "updated_at": "t1", "phone": "1"}
    after = {"id": "x", "version": 4, "updated_at": "t2", "email": "e@x.test"}
    assert history.diff(before, after) == {"email": {"from": None, "to": "e@x.test"},
                                           "phone": {"from": "1", "to": None}}


def test_a_creation_starts_every_set_field_from_null():
    assert history.diff(None, {"id": "x", "name": "Acme", "city": None, "tags": []}) == {
        "name": {"from": None, "to": "Acme"}, "tags": {"from": None, "to": []}}


def test_an_updated_event_without_changes_is_refused_when_written(accounts):
    with accounts.db.uow() as uow, pytest.raises(ContractViolation, match="changes"):
        uow.publish("accounts.account.updated", str(uuid.uuid4()), {"id": str(uuid.uuid4())})


# -- through the HTTP layer -------------------------------------------------------------

def add_user(built, user_id, role="rep", team="Iberia"):
    with built.db.uow() as uow:
        upsert_user(uow.session, built.db, {"id": user_id, "email": f"{user_id}@x.test", "name": "U",
                                            "role": role, "team": team, "active": True})
        uow.commit()


def outbox_events(built) -> list[dict]:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        return [events.decode(body) for body in session.scalars(select(outbox.c.body).order_by(outbox.c.id))]


def test_account_history_is_newest_first_with_who_and_what(accounts):
    rep, manager = str(uuid.uuid4()), str(uuid.uuid4())
    add_user(accounts, rep)
    add_user(accounts, manager, role="manager")
    as_rep, as_manager = headers("rep", rep, "Iberia"), headers("manager", manager, "Iberia")
    account = accounts.client.post("/api/v1/accounts", json={"name": "Bodegas Haro", "city": "Haro"},
                                   headers=as_rep).get_json()
    url = f"/api/v1/accounts/{account['id']}"
    assert accounts.client.patch(url, json={"city": "Logroño", "tags": ["wine"]}, headers=as_rep).status_code == 200
    assert accounts.client.patch(url, json={"annual_revenue": {"amount": "1200.50", "currency": "EUR"}},
                                 headers=as_manager).status_code == 200
    assert accounts.client.delete(url, headers=as_manager).status_code == 204

    reply = accounts.client.get(url + "/history", headers=headers("readonly"))
    assert reply.status_code == 200
    items = reply.get_json()["items"]
    assert [(i["type"], i["actor_id"]) for i in items] == [
        ("accounts.account.deleted", manager), ("accounts.account.updated", manager),
        ("accounts.account.updated", rep), ("accounts.account.created", rep)]
    assert items[1]["changes"] == {"annual_revenue": {"from": None, "to": {"amount": "1200.50", "currency": "EUR"}}}
    assert items[2]["changes"] == {"city": {"from": "Haro", "to": "Logroño"}, "tags": {"from": [], "to": ["wine"]}}
    assert items[3]["changes"]["name"] == {"from": None, "to": "Bodegas Haro"}
    assert "tags" not in items[3]["changes"]  # created empty: nothing to say
    assert set(items[0]["changes"]) == {"deleted_at"}
    assert all(datetime.fromisoformat(i["time"]).tzinfo is not None for i in items)


def test_events_carry_changes_and_the_actor(accounts):
    rep = str(uuid.uuid4())
    add_user(accounts, rep)
    account = accounts.client.post("/api/v1/accounts", json={"name": "Aceros"}, headers=headers("rep", rep)).get_json()
    accounts.client.patch(f"/api/v1/accounts/{account['id']}", json={"segment": "relational"},
                          headers=headers("rep", rep))
    created, updated = outbox_events(accounts)
    assert created["data"]["actor_id"] == rep and "changes" not in created["data"]
    assert updated["data"]["actor_id"] == rep
    assert updated["data"]["changes"] == {"segment": {"from": None, "to": "relational"}}


def test_a_patch_that_changes_nothing_publishes_nothing_and_adds_no_history(accounts):
    admin = headers("admin")
    account = accounts.client.post("/api/v1/accounts", json={"name": "Aceros", "city": "Bilbao"},
                                   headers=admin).get_json()
    same = accounts.client.patch(f"/api/v1/accounts/{account['id']}", json={"city": "Bilbao"}, headers=admin)
    assert same.status_code == 200 and same.get_json()["version"] == 1
    assert [e["type"] for e in outbox_events(accounts)] == ["accounts.account.created"]
    items = accounts.client.get(f"/api/v1/accounts/{account['id']}/history", headers=admin).get_json()["items"]
    assert [i["type"] for i in items] == ["accounts.account.created"]


def test_a_change_made_by_a_handler_has_no_actor(accounts):
    from services.accounts import service

    owner, successor = str(uuid.uuid4()), str(uuid.uuid4())
    contact = accounts.client.post("/api/v1/contacts", json={"first_name": "Ana"},
                                   headers=headers("rep", owner)).get_json()
    with accounts.db.uow() as uow:  # what the handover handler does, outside any request
        service.reassign_owner(uow, owner, successor)
        uow.commit()
    moved = outbox_events(accounts)[-1]
    assert moved["type"] == "accounts.contact.updated" and "actor_id" not in moved["data"]
    assert moved["data"]["changes"] == {"owner_id": {"from": owner, "to": successor}}
    items = accounts.client.get(f"/api/v1/contacts/{contact['id']}/history", headers=headers()).get_json()["items"]
    assert items[0]["actor_id"] is None and items[0]["changes"] == moved["data"]["changes"]
    assert items[1]["actor_id"] == owner


def test_history_pages_with_cursor_and_limit(accounts):
    admin = headers("admin")
    account = accounts.client.post("/api/v1/accounts", json={"name": "A0"}, headers=admin).get_json()
    for n in range(1, 5):
        accounts.client.patch(f"/api/v1/accounts/{account['id']}", json={"name": f"A{n}"}, headers=admin)
    names, cursor = [], None
    while True:
        url = f"/api/v1/accounts/{account['id']}/history?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = accounts.client.get(url, headers=admin).get_json()
        names += [i["changes"]["name"]["to"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names == ["A4", "A3", "A2", "A1", "A0"]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "cursor=nonsense"])
def test_bad_paging_is_422(accounts, query):
    account = accounts.client.post("/api/v1/accounts", json={"name": "A"}, headers=headers()).get_json()
    reply = accounts.client.get(f"/api/v1/accounts/{account['id']}/history?{query}", headers=headers())
    assert reply.status_code == 422


@pytest.mark.parametrize("kind", ["accounts", "contacts"])
def test_history_of_an_unknown_record_is_404_and_needs_a_token(accounts, kind):
    assert accounts.client.get(f"/api/v1/{kind}/{uuid.uuid4()}/history", headers=headers()).status_code == 404
    assert accounts.client.get(f"/api/v1/{kind}/{uuid.uuid4()}/history").status_code == 401
