"""Every consumer's part of a merge (CONTRACTS §9, "Merge"), on SQLite with
the real inbox: what it re-points, that a redelivery changes and publishes
nothing more, and that a late event about a merged record does not bring it
back."""
from __future__ import annotations

import importlib
import json
import uuid

import pytest
from sqlalchemy import select

from shared import events, inbox
from tests.support.auth import headers

ADMIN = headers("admin")


def feed(built, routing_key: str, data: dict, subject: str | None = None, event_id: str | None = None) -> str:
    handlers = importlib.import_module(f"services.{built.component}.handlers").HANDLERS
    event = events.new_event(source=routing_key.split(".")[0], type=routing_key, subject=subject or data.get("id"),
                             data=data, event_id=event_id)
    return inbox.handle(built.db, f"cadena.{built.component}.events", handlers, routing_key, events.encode(event))


def published(built, routing_key: str) -> list[tuple[str, dict]]:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        rows = session.execute(select(outbox.c.aggregate_id, outbox.c.body).where(outbox.c.routing_key == routing_key)
                               .order_by(outbox.c.id)).all()
    return [(subject, json.loads(body)["data"]) for subject, body in rows]


def customer(built) -> dict[str, str]:
    """Two accounts and a contact at each, as accounts' events told the service."""
    ids = {name: str(uuid.uuid4()) for name in ("survivor", "merged", "ana", "ana_twin")}
    for name, key in (("survivor", "Bodegas Valdeolmos"), ("merged", "Bodegas Valdeolmos S.A.")):
        feed(built, "accounts.account.created", {"id": ids[name], "name": key, "version": 1, "country": "ES",
                                                  "industry": "Vino"})
    for name, account in (("ana", "survivor"), ("ana_twin", "merged")):
        feed(built, "accounts.contact.created", {"id": ids[name], "first_name": "Ana", "account_id": ids[account],
                                                  "email": f"{name}@valdeolmos.es", "version": 1,
                                                  "lifecycle_stage": "prospect"})
    return ids


def merge(built, kind: str, survivor: str, merged: str, account_id: str | None = None, event_id=None) -> str:
    return feed(built, f"accounts.{kind}.merged", {"survivor_id": survivor, "merged_ids": [merged],
                                                  "account_id": account_id or survivor}, subject=survivor,
                event_id=event_id)


def twice(built, kind, survivor, merged, account_id=None) -> None:
    """Delivered, then redelivered (the same event id) and repeated (another id): one effect."""
    event_id = str(uuid.uuid4())
    assert merge(built, kind, survivor, merged, account_id, event_id) == "ack"
    assert merge(built, kind, survivor, merged, account_id, event_id) == "ack"
    assert merge(built, kind, survivor, merged, account_id) == "ack"


def test_deals_follow_a_merged_account_and_contact_once(sqlite_build):
    built = sqlite_build("opportunities")
    ids = customer(built)
    deal = built.client.post("/api/v1/opportunities", json={
        "name": "Barricas 2027", "account_id": ids["merged"], "primary_contact_id": ids["ana_twin"],
        "amount": {"amount": "1000.00", "currency": "EUR"}}, headers=ADMIN).get_json()
    twice(built, "account", ids["survivor"], ids["merged"])
    twice(built, "contact", ids["ana"], ids["ana_twin"], ids["survivor"])
    after = built.client.get(f"/api/v1/opportunities/{deal['id']}", headers=ADMIN).get_json()
    assert (after["account_id"], after["primary_contact_id"]) == (ids["survivor"], ids["ana"])
    updates = published(built, "opportunities.opportunity.updated")
    assert [(s, d["account_id"], d["primary_contact_id"]) for s, d in updates] == [
        (deal["id"], ids["survivor"], ids["ana_twin"]), (deal["id"], ids["survivor"], ids["ana"])]
    # A late copy of the merged account does not bring it back: no new deal can name it.
    feed(built, "accounts.account.updated", {"id": ids["merged"], "name": "Tarde", "version": 7})
    refused = built.client.post("/api/v1/opportunities", json={
        "name": "Otra", "account_id": ids["merged"], "amount": {"amount": "1.00", "currency": "EUR"}}, headers=ADMIN)
    assert refused.status_code == 422 and "account_id" in refused.get_json()["errors"]


def test_activities_follow_a_merged_account_and_contact_once(sqlite_build):
    built = sqlite_build("activities")
    ids = customer(built)
    call = built.client.post("/api/v1/activities", json={
        "type": "call", "subject": "Llamar a Ana", "account_id": ids["merged"], "contact_id": ids["ana_twin"],
        "due_at": "2026-12-01T10:00:00Z"}, headers=ADMIN).get_json()
    twice(built, "account", ids["survivor"], ids["merged"])
    twice(built, "contact", ids["ana"], ids["ana_twin"], ids["survivor"])
    after = built.client.get(f"/api/v1/activities/{call['id']}", headers=ADMIN).get_json()
    assert (after["account_id"], after["contact_id"]) == (ids["survivor"], ids["ana"])
    assert len(published(built, "activities.activity.updated")) == 2
    feed(built, "accounts.contact.updated", {"id": ids["ana_twin"], "first_name": "Tarde", "version": 9})
    refused = built.client.post("/api/v1/activities", json={"type": "call", "contact_id": ids["ana_twin"],
                                                          "due_at": "2026-12-01T10:00:00Z"},
                                headers=ADMIN)
    assert refused.status_code == 422 and "contact_id" in refused.get_json()["errors"]


def test_cases_follow_a_merged_account_and_contact_once(sqlite_build):
    built = sqlite_build("support")
    ids = customer(built)
    case = built.client.post("/api/v1/cases", json={
        "subject": "Corcho defectuoso", "account_id": ids["merged"], "contact_id": ids["ana_twin"]},
        headers=ADMIN).get_json()
    twice(built, "account", ids["survivor"], ids["merged"])
    twice(built, "contact", ids["ana"], ids["ana_twin"], ids["survivor"])
    after = built.client.get(f"/api/v1/cases/{case['id']}", headers=ADMIN).get_json()
    assert (after["account_id"], after["contact_id"]) == (ids["survivor"], ids["ana"])
    assert len(published(built, "support.case.updated")) == 2
    feed(built, "accounts.account.updated", {"id": ids["merged"], "name": "Tarde", "version": 9})
    refused = built.client.post("/api/v1/cases", json={"subject": "X", "account_id": ids["merged"]}, headers=ADMIN)
    assert refused.status_code == 422


@pytest.fixture
def campaigns(sqlite_build):
    from shared.auth import upsert_user

    built = sqlite_build("campaigns")
    with built.db.transaction() as uow:
        upsert_user(uow.session, built.db, {"id": MARKETING, "email": "mk@x.test", "name": "Mk", "role": "marketing",
                                            "team": "Marketing", "active": True})
    return built


MARKETING = str(uuid.uuid4())
MK = headers("marketing", MARKETING, "Marketing")


def campaign_with_members(built, **segment) -> str:
    reply = built.client.post("/api/v1/campaigns", json={"name": "Vendimia", "channel": "email",
                                                         "segment": {"country": ["ES"], **segment}}, headers=MK)
    campaign = reply.get_json()["id"]
    assert built.client.post(f"/api/v1/campaigns/{campaign}/members/build", headers=MK).status_code == 200
    return campaign


def members(built, campaign: str) -> dict[str, dict]:
    items = built.client.get(f"/api/v1/campaigns/{campaign}/members?limit=200", headers=MK).get_json()["items"]
    return {m["contact_id"]: m for m in items}


def test_a_merged_contacts_membership_becomes_the_survivors_without_duplicates(campaigns):
    from services.campaigns.models import MergedMember, OptOut

    ids = customer(campaigns)
    both = campaign_with_members(campaigns)  # both are members: the one further along stays
    path = f"/api/v1/campaigns/{both}/members/{ids['ana_twin']}"
    assert campaigns.client.patch(path, json={"status": "responded"}, headers=MK).status_code == 200
    feed(campaigns, "accounts.contact.updated", {"id": ids["ana_twin"], "first_name": "Ana", "version": 2,
                                                 "account_id": ids["merged"], "lifecycle_stage": "active_customer"})
    only_twin = campaign_with_members(campaigns, lifecycle_stage=["active_customer"])
    assert set(members(campaigns, only_twin)) == {ids["ana_twin"]}
    twice(campaigns, "contact", ids["ana"], ids["ana_twin"], ids["survivor"])
    kept = members(campaigns, both)
    assert list(kept) == [ids["ana"]] and kept[ids["ana"]]["status"] == "responded"
    moved = members(campaigns, only_twin)
    assert list(moved) == [ids["ana"]] and moved[ids["ana"]]["account_id"] == ids["survivor"]
    with campaigns.db.sessions() as session:  # the survivor's own (targeted) membership is kept as history
        archived = session.scalars(select(MergedMember)).all()
        assert [(m.campaign_id, m.contact_id, m.merged_into, m.state["status"]) for m in archived] == [
            (both, ids["ana"], ids["ana"], "targeted")]
        assert session.get(OptOut, ids["ana"]) is None


def test_an_opt_out_of_a_merged_contact_holds_for_the_survivor(campaigns):
    from services.campaigns.models import OptOut

    ids = customer(campaigns)
    campaign = campaign_with_members(campaigns)
    path = f"/api/v1/campaigns/{campaign}/members"
    campaigns.client.patch(f"{path}/{ids['ana']}", json={"status": "responded"}, headers=MK)
    campaigns.client.patch(f"{path}/{ids['ana_twin']}", json={"status": "opted_out"}, headers=MK)
    twice(campaigns, "contact", ids["ana"], ids["ana_twin"], ids["survivor"])
    kept = members(campaigns, campaign)
    assert list(kept) == [ids["ana"]] and kept[ids["ana"]]["status"] == "opted_out"
    with campaigns.db.sessions() as session:
        assert session.get(OptOut, ids["ana"]) is not None


def test_a_merged_account_moves_members_and_leaves_segments(campaigns):
    ids = customer(campaigns)
    campaign = campaign_with_members(campaigns)
    twice(campaigns, "account", ids["survivor"], ids["merged"])
    assert {m["account_id"] for m in members(campaigns, campaign).values()} == {ids["survivor"]}
    feed(campaigns, "accounts.contact.deleted", {"id": ids["ana"]})
    feed(campaigns, "accounts.account.updated", {"id": ids["merged"], "name": "Tarde", "version": 9, "country": "ES"})
    assert campaigns.client.post(f"/api/v1/campaigns/{campaign}/members/build", headers=MK).get_json()["added"] == 0


def test_the_gateway_timeline_of_a_survivor_shows_the_merged_accounts_entries(sqlite_build):
    from gateway.app import HANDLERS
    from gateway import timeline

    built = sqlite_build("gateway")
    survivor, merged, older = (str(uuid.uuid4()) for _ in range(3))

    def send(routing_key, data, subject):
        event = events.new_event(source="accounts", type=routing_key, subject=subject, data=data)
        inbox.handle(built.db, "cadena.gateway.events", HANDLERS, routing_key, events.encode(event))

    send("accounts.account.created", {"id": older, "name": "Antigua", "version": 1}, older)
    send("accounts.account.merged", {"survivor_id": merged, "merged_ids": [older]}, merged)
    send("accounts.account.merged", {"survivor_id": survivor, "merged_ids": [merged]}, survivor)
    send("accounts.account.updated", {"id": merged, "name": "Tardía", "version": 3}, merged)  # late
    with built.db.sessions() as session:
        items, _ = timeline.page(session, survivor, 50, None)
        assert {i["type"] for i in items} == {"accounts.account.created", "accounts.account.merged",
                                              "accounts.account.updated"}
        assert len(items) == 4
        assert timeline.survivor_of(session, older) == survivor
