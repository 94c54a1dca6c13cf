"""The accounts service's reactions to opportunities' events (account view,
contact lifecycle) and the inactivity job, on SQLite through the inbox."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from shared import events, inbox
from shared.db import utcnow
from services.accounts.handlers import HANDLERS
from services.accounts.jobs import jobs, mark_inactive_customers
from services.accounts.models import AccountView, Contact, ViewOpportunity
from tests.support.auth import headers

ADMIN = headers("admin")
CONSUMER = "cadena.accounts.events"


@pytest.fixture
def accounts(sqlite_build):
    built = sqlite_build("accounts", gateway_url="http://127.0.0.1:1")
    account = built.client.post("/api/v1/accounts", json={
        "name": "Bodegas Valdeolmos S.A.", "annual_revenue": {"amount": "9200000.00", "currency": "EUR"}},
        headers=ADMIN).get_json()
    built.account_id = account["id"]
    built.contact_ids = [built.client.post("/api/v1/contacts", json={
        "first_name": name, "email": f"{name.lower()}@valdeolmos.es", "account_id": account["id"]},
        headers=ADMIN).get_json()["id"] for name in ("Ana", "Luis")]
    return built


def deliver(built, routing_key: str, data: dict, event_id: str | None = None) -> str:
    event = events.new_event(source="opportunities", type=routing_key, subject=data.get("id"), data=data,
                             event_id=event_id)
    return inbox.handle(built.db, CONSUMER, HANDLERS, routing_key, events.encode(event))


def opportunity(account_id: str, opp_id: str, amount: str, stage: str = "prospecting") -> dict:
    return {"id": opp_id, "account_id": account_id, "stage": stage, "amount": {"amount": amount, "currency": "EUR"}}


def won(account_id: str, opp_id: str, amount: str) -> dict:
    return {"opportunity_id": opp_id, "account": {"id": account_id, "name": "Bodegas"}, "owner_id": "x",
            "amount": {"amount": amount, "currency": "EUR"}, "won_at": utcnow().isoformat(), "line_items": [],
            "currency": "EUR", "close_date": utcnow().date().isoformat(), "primary_contact": None}


def view(built) -> dict:
    return built.client.get(f"/api/v1/accounts/{built.account_id}/view", headers=ADMIN).get_json()


def stages(built) -> set[str]:
    with built.db.sessions() as session:
        return {c.lifecycle_stage for c in session.scalars(select(Contact).where(Contact.id.in_(built.contact_ids)))}


def lifecycle_events(built) -> list[tuple[str, str]]:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        rows = session.execute(select(outbox.c.body).where(
            outbox.c.routing_key == "accounts.contact.lifecycle_changed").order_by(outbox.c.id)).all()
    return [(events.decode(r.body)["data"]["from"], events.decode(r.body)["data"]["to"]) for r in rows]


def test_open_deal_counts_once_and_makes_prospects_potential_customers(accounts):
    deal = str(uuid.uuid4())
    first = str(uuid.uuid4())
    assert deliver(accounts, "opportunities.opportunity.created",
                   opportunity(accounts.account_id, deal, "1000.00"), first) == "ack"
    assert deliver(accounts, "opportunities.opportunity.created",
                   opportunity(accounts.account_id, deal, "1000.00"), first) == "ack"  # redelivery
    assert view(accounts)["open_pipeline"] == {"amount": "1000.00", "currency": "EUR"}
    assert stages(accounts) == {"potential_customer"}
    assert lifecycle_events(accounts) == [("prospect", "potential_customer")] * 2
    # the same deal again (another event): its new amount replaces the old one
    deliver(accounts, "opportunities.opportunity.stage_changed",
            opportunity(accounts.account_id, deal, "1200.50", "proposal"))
    other = str(uuid.uuid4())
    deliver(accounts, "opportunities.opportunity.created", opportunity(accounts.account_id, other, "99.50"))
    assert view(accounts)["open_pipeline"]["amount"] == "1300.00"
    assert len(lifecycle_events(accounts)) == 2


def test_won_deal_moves_to_won_total_once_even_if_events_arrive_late_or_twice(accounts):
    deal = str(uuid.uuid4())
    deliver(accounts, "opportunities.opportunity.created", opportunity(accounts.account_id, deal, "500.00"))
    deliver(accounts, "opportunities.opportunity.won", won(accounts.account_id, deal, "500.00"))
    deliver(accounts, "opportunities.opportunity.won", won(accounts.account_id, deal, "500.00"))  # a copy
    deliver(accounts, "opportunities.opportunity.stage_changed",  # late: older than the win
            opportunity(accounts.account_id, deal, "450.00", "negotiation"))
    body = view(accounts)
    assert body["open_pipeline"]["amount"] == "0.00"
    assert body["won_total"] == {"amount": "500.00", "currency": "EUR"}
    assert body["won_deals"] == 1
    assert stages(accounts) == {"active_customer"}
    with accounts.db.sessions() as session:
        assert session.get(AccountView, accounts.account_id).last_won_at is not None


def test_won_event_before_its_created_event_still_counts_once(accounts):
    deal = str(uuid.uuid4())
    deliver(accounts, "opportunities.opportunity.won", won(accounts.account_id, deal, "700.00"))
    deliver(accounts, "opportunities.opportunity.created", opportunity(accounts.account_id, deal, "700.00"))
    body = view(accounts)
    assert (body["open_pipeline"]["amount"], body["won_total"]["amount"], body["won_deals"]) == ("0.00", "700.00", 1)


def test_lost_and_deleted_deals_leave_the_open_pipeline(accounts):
    lost, deleted = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(accounts, "opportunities.opportunity.created", opportunity(accounts.account_id, lost, "300.00"))
    deliver(accounts, "opportunities.opportunity.created", opportunity(accounts.account_id, deleted, "200.00"))
    deliver(accounts, "opportunities.opportunity.lost", {"opportunity_id": lost, "account_id": accounts.account_id,
                                                         "amount": {"amount": "300.00", "currency": "EUR"},
                                                         "reason": "price"})
    deliver(accounts, "opportunities.opportunity.deleted", {"id": deleted, "account_id": accounts.account_id})
    deliver(accounts, "opportunities.opportunity.updated", opportunity(accounts.account_id, lost, "300.00"))  # late
    body = view(accounts)
    assert (body["open_pipeline"]["amount"], body["won_total"]["amount"]) == ("0.00", "0.00")
    with accounts.db.sessions() as session:
        assert {d.status for d in session.scalars(select(ViewOpportunity))} == {"lost", "deleted"}
    assert stages(accounts) == {"potential_customer"}  # a lost deal does not undo the lifecycle


def test_a_bad_payload_goes_to_the_dead_letter_queue(accounts):
    assert deliver(accounts, "opportunities.opportunity.won", {"opportunity_id": "x"}) == "reject"


def test_inactivity_job_moves_stale_active_customers_only(accounts):
    deal = str(uuid.uuid4())
    deliver(accounts, "opportunities.opportunity.won", won(accounts.account_id, deal, "700.00"))
    assert stages(accounts) == {"active_customer"}
    settings = accounts.settings
    assert mark_inactive_customers(accounts.db, settings) == 0  # won just now: still active (365 days)
    long_ago = utcnow() - timedelta(days=400)
    with accounts.db.transaction() as uow:
        uow.session.get(AccountView, accounts.account_id).last_won_at = long_ago
        for contact in uow.session.scalars(select(Contact)):
            contact.lifecycle_changed_at = long_ago
        uow.session.get(AccountView, accounts.account_id).last_activity_at = utcnow() - timedelta(days=10)
    assert mark_inactive_customers(accounts.db, settings) == 0  # recent activity keeps them active
    with accounts.db.transaction() as uow:
        uow.session.get(AccountView, accounts.account_id).last_activity_at = long_ago
    [job] = [j for j in jobs(accounts.db, settings) if j.name == "inactive-customers"]
    assert job.run() == 2
    assert stages(accounts) == {"inactive_customer"}
    assert lifecycle_events(accounts)[-2:] == [("active_customer", "inactive_customer")] * 2
    assert mark_inactive_customers(accounts.db, settings) == 0  # done is done
    # a new win makes them customers again
    deliver(accounts, "opportunities.opportunity.won", won(accounts.account_id, str(uuid.uuid4()), "10.00"))
    assert stages(accounts) == {"active_customer"}


def test_inactivity_threshold_comes_from_settings(accounts):
    deliver(accounts, "opportunities.opportunity.won", won(accounts.account_id, str(uuid.uuid4()), "1.00"))
    quick = dataclasses.replace(accounts.settings, inactive_after_days=0)
    assert mark_inactive_customers(accounts.db, quick, batch=1) == 2  # in batches of one


def test_view_takes_the_deals_currency_when_none_is_in_the_accounts_own(accounts):
    deal = str(uuid.uuid4())
    data = opportunity(accounts.account_id, deal, "250.00")
    data["amount"]["currency"] = "USD"
    deliver(accounts, "opportunities.opportunity.created", data)
    assert view(accounts)["open_pipeline"] == {"amount": "250.00", "currency": "USD"}
    eur = opportunity(accounts.account_id, str(uuid.uuid4()), "10.00")
    deliver(accounts, "opportunities.opportunity.created", eur)  # now one in the account's own currency: back to EUR
    assert view(accounts)["open_pipeline"] == {"amount": "10.00", "currency": "EUR"}
