"""Merges on the real Postgres and RabbitMQ (CONTRACTS §9, "Merge"): real
workers carry accounts.<kind>.merged to deals, campaign members and the
account view; a redelivered or repeated merge changes nothing twice, a
late event about a merged record does not bring it back, and a deal created
at the very moment its account is merged away follows the survivor."""
from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from tests.integration.test_opportunities_pg import NOWHERE, start_worker
from tests.support.auth import headers
from tests.support.broker import Listener
from tests.support.wait import until

from services.opportunities.models import AccountReplica, ContactReplica

ADMIN = headers("admin")


def post(built, path, body, status=(200, 201)) -> dict:
    reply = built.client.post(path, json=body, headers=ADMIN)
    assert reply.status_code in status, (path, reply.status_code, reply.get_json())
    return reply.get_json()


def customer(accounts) -> dict[str, str]:
    ids = {}
    for name in ("survivor", "merged"):
        ids[name] = post(accounts, "/api/v1/accounts", {"name": f"Bodegas {name} {uuid.uuid4().hex[:4]}",
                                                        "country": "ES"})["id"]
    for name, account in (("ana", "survivor"), ("ana_twin", "merged")):
        ids[name] = post(accounts, "/api/v1/contacts", {
            "first_name": "Ana", "account_id": ids[account], "email": f"{name}.{uuid.uuid4().hex[:6]}@bodegas.es"})["id"]
    return ids


def known(built, model, record_id) -> bool:
    with built.db.sessions() as session:
        return session.get(model, record_id) is not None


def test_a_merge_reaches_deals_members_and_the_account_view_through_real_workers(build):
    accounts = build("accounts", gateway_url=NOWHERE)
    opps = build("opportunities", gateway_url=NOWHERE)
    opps.app.extensions["cadena"].use_cases.accounts = None  # replicas come from events only
    campaigns = build("campaigns", gateway_url=NOWHERE)
    for built in (accounts, opps, campaigns):
        start_worker(built)
    ids = customer(accounts)
    until(lambda: known(opps, ContactReplica, ids["ana_twin"]), timeout=15)
    deal = post(opps, "/api/v1/opportunities", {"name": "Barricas", "account_id": ids["merged"],
                                                "primary_contact_id": ids["ana_twin"],
                                                "amount": {"amount": "1000.00", "currency": "EUR"}})
    campaign = post(campaigns, "/api/v1/campaigns", {"name": "Vendimia", "channel": "web",
                                                     "segment": {"country": ["ES"]}})["id"]
    members_path = f"/api/v1/campaigns/{campaign}/members"

    def members():
        items = campaigns.client.get(f"{members_path}?limit=200", headers=ADMIN).get_json()["items"]
        return {m["contact_id"]: m for m in items}

    until(lambda: post(campaigns, f"{members_path}/build", None)["total"] == 2, timeout=15)
    post(accounts, f"/api/v1/contacts/{ids['ana']}/merge", {"merge_ids": [ids["ana_twin"]]})
    post(accounts, f"/api/v1/accounts/{ids['survivor']}/merge", {"merge_ids": [ids["merged"]]})

    def repointed():
        body = opps.client.get(f"/api/v1/opportunities/{deal['id']}", headers=ADMIN).get_json()
        return (body["account_id"], body["primary_contact_id"]) == (ids["survivor"], ids["ana"])

    until(repointed, timeout=10)
    until(lambda: list(members()) == [ids["ana"]] and members()[ids["ana"]]["account_id"] == ids["survivor"],
          timeout=10)
    def pipeline():  # the merged account's deal counts for the survivor, whenever its event arrived
        return accounts.client.get(f"/api/v1/accounts/{ids['survivor']}/view", headers=ADMIN).get_json()[
            "open_pipeline"]["amount"]

    until(lambda: pipeline() == "1000.00", timeout=10)


def test_a_redelivered_repeated_or_late_merge_changes_nothing_twice(build, amqp_url):
    from tests.faults.helpers import event, publish

    accounts = build("accounts", gateway_url=NOWHERE)
    opps = build("opportunities", gateway_url=NOWHERE)
    opps.app.extensions["cadena"].use_cases.accounts = None
    listener = Listener(amqp_url, ["accounts.account.merged", "opportunities.opportunity.updated"])
    try:
        start_worker(accounts)
        start_worker(opps)
        ids = customer(accounts)
        until(lambda: known(opps, AccountReplica, ids["merged"]), timeout=15)
        deal = post(opps, "/api/v1/opportunities", {"name": "Corchos", "account_id": ids["merged"],
                                                    "amount": {"amount": "300.00", "currency": "EUR"}})
        post(accounts, f"/api/v1/accounts/{ids['survivor']}/merge", {"merge_ids": [ids["merged"]]})
        until(lambda: len(listener.of_type("opportunities.opportunity.updated", deal["id"])) == 1, timeout=10)
        merged = listener.of_type("accounts.account.merged")
        assert len(merged) == 1
        again = merged[0]
        late = {"id": ids["merged"], "name": "Tardía S.A.", "version": 1, "country": "ES"}
        publish(amqp_url, [("accounts.account.merged", json.dumps(again).encode())], times=2)  # redelivered
        publish(amqp_url, [event("accounts.account.merged", again["data"], ids["survivor"], "accounts"),  # repeated
                           event("accounts.account.updated", late, ids["merged"], "accounts")])  # late
        sentinel = post(accounts, "/api/v1/accounts", {"name": "Después S.L."})["id"]  # queued behind them
        until(lambda: known(opps, AccountReplica, sentinel), timeout=10)
        assert len(listener.of_type("opportunities.opportunity.updated", deal["id"])) == 1
        with opps.db.sessions() as session:
            tombstone = session.get(AccountReplica, ids["merged"])
            assert tombstone.deleted is True
        refused = opps.client.post("/api/v1/opportunities", json={
            "name": "Otra", "account_id": ids["merged"], "amount": {"amount": "1.00", "currency": "EUR"}},
            headers=ADMIN)
        assert refused.status_code == 422
        assert opps.client.get(f"/api/v1/opportunities/{deal['id']}", headers=ADMIN).get_json()["account_id"] \
            == ids["survivor"]
        with opps.db.sessions() as session:
            outbox = opps.db.tables.outbox
            keys = session.scalars(select(outbox.c.routing_key).where(outbox.c.aggregate_id == deal["id"])).all()
        assert keys == ["opportunities.opportunity.created", "opportunities.opportunity.updated"]
    finally:
        listener.delete()


def test_a_deal_created_while_its_account_is_merged_away_follows_the_survivor(build):
    """The race a merge must not lose: a deal being created for the merged
    account (its replica row read, not yet committed) while the merge is
    handled. The handler waits for the deal, then re-points it."""
    import threading

    from shared import events, inbox
    from shared.auth import Principal
    from services.opportunities import replica, service
    from services.opportunities.handlers import HANDLERS
    from services.opportunities.models import Opportunity

    opps = build("opportunities", gateway_url=NOWHERE)
    survivor, merged = str(uuid.uuid4()), str(uuid.uuid4())
    with opps.db.transaction() as uow:
        for account_id in (survivor, merged):
            replica.upsert_account(uow.session, {"id": account_id, "name": f"Cuenta {account_id[:4]}", "version": 1})
    event = events.new_event(source="accounts", type="accounts.account.merged", subject=survivor,
                             data={"survivor_id": survivor, "merged_ids": [merged]})
    outcome = []
    handler = threading.Thread(target=lambda: outcome.append(inbox.handle(
        opps.db, "cadena.opportunities.events", HANDLERS, "accounts.account.merged", events.encode(event))))
    with opps.db.transaction() as uow:
        deal = service.create_opportunity(uow, Principal(str(uuid.uuid4()), "admin", None), {
            "name": "A destiempo", "account_id": merged, "amount": {"amount": "10.00", "currency": "EUR"}},
            service.Deps())
        handler.start()
        until(lambda: _waiting_on_a_lock(opps), timeout=10)  # the merge waits for this deal
    handler.join(timeout=15)
    assert outcome == ["ack"]
    with opps.db.sessions() as session:
        assert session.get(Opportunity, deal.id).account_id == survivor


def _waiting_on_a_lock(built) -> bool:
    from sqlalchemy import text

    with built.db.engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND wait_event_type = 'Lock'")).scalar())
