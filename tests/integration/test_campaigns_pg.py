"""Campaigns on the real Postgres and RabbitMQ: the replica fed by the real
accounts service's events through real workers, member builds, launches
sent through a real SMTP server (in-process), a worker that dies mid-send,
two workers racing, and ROI from a real won event."""
from __future__ import annotations

import socket
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from shared import events
from shared.bus import ConfirmingPublisher, bind_queue
from shared.mail import MailboxHandler, start_sink
from shared.worker import Job, Worker
from services.campaigns.handlers import HANDLERS
from services.campaigns.jobs import MailSettings, Sender
from tests.support.auth import headers
from tests.support.broker import Listener
from tests.support.wait import until

ADMIN = str(uuid.uuid4())
MARKETING = str(uuid.uuid4())
ADMIN_H = headers("admin", ADMIN)
MK = headers("marketing", MARKETING, "Marketing")


@pytest.fixture
def sink():
    controller, handler = start_sink(port=0)
    yield controller, handler
    controller.stop()


@pytest.fixture
def system(build, sink, amqp_url):
    """accounts + campaigns on their own Postgres databases, each with a
    running worker; campaigns' queue exists before accounts publishes."""
    controller, _ = sink
    campaigns = build("campaigns", smtp_url=f"smtp://127.0.0.1:{controller.port}",
                      extra={"claim_timeout": "1", "interval": "0.2"})
    accounts = build("accounts")
    return accounts, campaigns


def start(built) -> Worker:
    worker = built.worker()
    queue = worker.queue
    bind_queue(worker.settings.amqp_url, queue.name, queue.bindings, queue.delivery_limit)
    worker.start()
    return worker


def new_account(accounts, industry: str, country: str = "ES", name: str = "Bodegas Valdeolmos S.A.") -> str:
    reply = accounts.client.post("/api/v1/accounts", json={
        "name": name, "industry": industry, "country": country, "segment": "relational",
        "annual_revenue": {"amount": "9200000.00", "currency": "EUR"}}, headers=ADMIN_H)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"]


def new_contact(accounts, account_id: str, first: str, stage: str = "prospect", email: str | None = None) -> str:
    reply = accounts.client.post("/api/v1/contacts", json={
        "first_name": first, "last_name": "García", "account_id": account_id, "lifecycle_stage": stage,
        "email": email or f"{first.lower()}.{uuid.uuid4().hex[:6]}@bodegas.example"}, headers=ADMIN_H)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"]


def new_campaign(campaigns, **body) -> dict:
    reply = campaigns.client.post("/api/v1/campaigns", json={"name": "Vendimia", "channel": "email", **body},
                                  headers=MK)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def build_until(campaigns, campaign_id: str, total: int, timeout: float = 15) -> dict:
    """Rebuild until the replica (fed asynchronously) yields the expected member count."""
    def attempt():
        result = campaigns.client.post(f"/api/v1/campaigns/{campaign_id}/members/build", headers=MK).get_json()
        return result if result["total"] == total else None
    return until(attempt, timeout, interval=0.2)


def rebuild_until(campaigns, campaign_id: str, expected: set[str], timeout: float = 15) -> dict:
    """Rebuild until the members are exactly ``expected``; sum what the builds changed."""
    totals = {"added": 0, "removed": 0}

    def attempt():
        result = campaigns.client.post(f"/api/v1/campaigns/{campaign_id}/members/build", headers=MK).get_json()
        totals["added"] += result["added"]
        totals["removed"] += result["removed"]
        return set(member_statuses(campaigns, campaign_id)) == expected
    until(attempt, timeout, interval=0.2)
    return totals


def member_statuses(campaigns, campaign_id: str) -> dict[str, dict]:
    items = campaigns.client.get(f"/api/v1/campaigns/{campaign_id}/members?limit=200", headers=MK).get_json()["items"]
    return {m["contact_id"]: m for m in items}


def progress(campaigns, campaign_id: str) -> dict:
    return campaigns.client.get(f"/api/v1/campaigns/{campaign_id}", headers=MK).get_json()["progress"]


def publish(amqp_url: str, routing_key: str, data: dict, subject: str) -> None:
    """An upstream service's event, as its outbox relay would publish it."""
    event = events.new_event(source=routing_key.split(".")[0], type=routing_key, subject=subject, data=data)
    publisher = ConfirmingPublisher(amqp_url)
    try:
        assert publisher.publish_batch([(routing_key, events.encode(event), event["id"])]) == [True]
    finally:
        publisher.close()


def unique_industry() -> str:
    # Queues outlive tests: a unique industry keeps earlier tests' late events out of this segment.
    return f"Alimentación y bebidas {uuid.uuid4().hex[:6]}"


def test_members_follow_the_replica_when_an_account_changes_industry(system):
    accounts, campaigns = system
    start(campaigns), start(accounts)
    food, other = unique_industry(), unique_industry()
    bodega = new_account(accounts, food)
    ana, luis = new_contact(accounts, bodega, "Ana"), new_contact(accounts, bodega, "Luis")
    elsewhere = new_account(accounts, other, name="Transportes Levante")
    eva = new_contact(accounts, elsewhere, "Eva")
    campaign = new_campaign(campaigns, segment={"industry": [food], "country": ["ES"]})
    cid = campaign["id"]
    assert build_until(campaigns, cid, 2)["added"] == 2
    assert set(member_statuses(campaigns, cid)) == {ana, luis}
    assert campaigns.client.patch(f"/api/v1/campaigns/{cid}/members/{ana}", json={"status": "responded"},
                                  headers=MK).status_code == 200

    # Bodegas moves to another industry and Transportes into ours: the set follows,
    # but Ana, who responded, stays.
    assert accounts.client.patch(f"/api/v1/accounts/{bodega}", json={"industry": other}, headers=ADMIN_H).status_code == 200
    assert accounts.client.patch(f"/api/v1/accounts/{elsewhere}", json={"industry": food},
                                 headers=ADMIN_H).status_code == 200
    assert rebuild_until(campaigns, cid, {ana, eva}) == {"added": 1, "removed": 1}
    members = member_statuses(campaigns, cid)
    assert {k: v["status"] for k, v in members.items()} == {ana: "responded", eva: "targeted"}
    assert members[eva]["account_id"] == elsewhere


def test_lifecycle_changes_from_accounts_reach_the_segment(system):
    accounts, campaigns = system
    start(campaigns), start(accounts)
    food = unique_industry()
    bodega = new_account(accounts, food)
    ana = new_contact(accounts, bodega, "Ana")
    new_contact(accounts, bodega, "Luis")
    campaign = new_campaign(campaigns, segment={"industry": [food], "lifecycle_stage": ["active_customer"]})
    assert accounts.client.patch(f"/api/v1/contacts/{ana}", json={"lifecycle_stage": "active_customer"},
                                 headers=ADMIN_H).status_code == 200
    assert rebuild_until(campaigns, campaign["id"], {ana}) == {"added": 1, "removed": 0}


def test_launch_sends_one_message_per_member_through_real_smtp(system, sink, amqp_url):
    accounts, campaigns = system
    _, mailbox = sink
    listener = Listener(amqp_url, ["campaigns.#"])
    start(campaigns), start(accounts)
    food = unique_industry()
    bodega = new_account(accounts, food)
    prospects = {new_contact(accounts, bodega, n) for n in ("Ana", "Luis", "Marta")}
    customer = new_contact(accounts, bodega, "Jorge", stage="active_customer")
    gone = new_contact(accounts, bodega, "Eva")
    campaign = new_campaign(campaigns, segment={"industry": [food]}, templates={
        "prospect": {"subject": "Hola {first_name}, conozca {campaign_name}", "body": "Para {account_name}."},
        "customer": {"subject": "Gracias, {first_name}", "body": "Cliente de {account_name}."}})
    cid = campaign["id"]
    build_until(campaigns, cid, 5)
    assert campaigns.client.patch(f"/api/v1/campaigns/{cid}/members/{gone}", json={"status": "opted_out"},
                                  headers=MK).status_code == 200
    reply = campaigns.client.post(f"/api/v1/campaigns/{cid}/launch", headers=MK)
    assert reply.status_code == 202 and reply.get_json()["status"] == "active"

    until(lambda: progress(campaigns, cid)["sent"] == 4, 20)
    ours = [m for m in mailbox.messages if m["X-Cadena-Campaign-Id"] == cid]
    by_contact = {m["X-Cadena-Contact-Id"]: m for m in ours}
    assert len(ours) == 4 and set(by_contact) == prospects | {customer}
    assert str(by_contact[customer]["Subject"]) == "Gracias, Jorge"
    assert all(str(by_contact[p]["Subject"]).startswith("Hola ") for p in prospects)
    assert "Bodegas Valdeolmos" in by_contact[customer].get_body(("plain",)).get_content()
    assert {str(m["Message-ID"]) for m in ours} == {f"<campaign-{cid}.{c}@cadena.local>" for c in by_contact}
    assert progress(campaigns, cid) == {"total": 5, "sent": 4, "pending": 0, "failed": 0, "unknown": 0, "skipped": 1}
    members = member_statuses(campaigns, cid)
    assert members[gone]["status"] == "opted_out" and members[gone]["delivery"] == "skipped"
    assert all(members[c]["status"] == "sent" for c in by_contact)

    launched = until(lambda: listener.of_type("campaigns.campaign.launched", cid), 10)
    assert launched[0]["data"]["member_count"] == 5 and launched[0]["data"]["campaign_id"] == cid
    until(lambda: len(listener.of_type("campaigns.member.sent", cid)) == 4, 10)
    again = campaigns.client.post(f"/api/v1/campaigns/{cid}/launch", headers=MK)
    assert again.status_code == 409
    listener.delete()


class Crash(BaseException):
    """The worker dies: not an Exception, so nothing catches it and the thread ends."""


class DiesAfterTheServerAccepts:
    """A transport that hands two messages over, then dies right after the
    server accepted the third — before the worker could record it."""

    def __init__(self, real, survive: int = 2):
        self.real = real
        self.survive = survive

    def __enter__(self):
        self.real.__enter__()
        return self

    def __exit__(self, *exc):
        if exc[0] is not Crash:  # a dead process says no goodbye
            self.real.__exit__(*exc)

    def send(self, message, sender, recipient):
        self.real.send(message, sender, recipient)
        if self.survive == 0:
            raise Crash()
        self.survive -= 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_launch_retried_after_the_worker_died_mid_send_sends_nothing_twice(system, sink):
    accounts, campaigns = system
    _, mailbox = sink
    from services.campaigns.mailer import SmtpTransport

    mail = MailSettings.from_settings(campaigns.settings)
    doomed = Worker(campaigns.settings, campaigns.db, HANDLERS, [Job("campaign-mail", 0.2, Sender(
        campaigns.db, mail, transport=lambda: DiesAfterTheServerAccepts(SmtpTransport(mail.smtp_url))).run_once)])
    bind_queue(doomed.settings.amqp_url, doomed.queue.name, doomed.queue.bindings, doomed.queue.delivery_limit)
    threads = doomed.start()
    try:
        start(accounts)
        food = unique_industry()
        bodega = new_account(accounts, food)
        everyone = {new_contact(accounts, bodega, f"P{i}") for i in range(6)}
        cid = new_campaign(campaigns, segment={"industry": [food]})["id"]
        build_until(campaigns, cid, 6)
        assert campaigns.client.post(f"/api/v1/campaigns/{cid}/launch", headers=MK).status_code == 202
        jobs_thread = next(t for t in threads if t.name.endswith("-jobs"))
        jobs_thread.join(timeout=20)
        assert not jobs_thread.is_alive()  # the sending thread died mid-send
    finally:
        doomed.stop.set()
    assert len([m for m in mailbox.messages if m["X-Cadena-Campaign-Id"] == cid]) == 3
    # Three handed over, two recorded: the third is still claimed ("sending", shown as pending).
    assert progress(campaigns, cid) == {"total": 6, "sent": 2, "pending": 4, "failed": 0, "unknown": 0, "skipped": 0}

    # The operator retries the launch: refused, nothing more is queued.
    retry = campaigns.client.post(f"/api/v1/campaigns/{cid}/launch", headers=MK)
    assert retry.status_code == 409
    # A new worker finishes the job; the abandoned claim is written off, never resent.
    start(campaigns)
    until(lambda: progress(campaigns, cid)["pending"] == 0, 20)
    assert progress(campaigns, cid) == {"total": 6, "sent": 5, "pending": 0, "failed": 0, "unknown": 1, "skipped": 0}
    ours = [m for m in mailbox.messages if m["X-Cadena-Campaign-Id"] == cid]
    recipients = [m["X-Cadena-Contact-Id"] for m in ours]
    assert sorted(recipients) == sorted(everyone)  # six contacts, six messages, nobody twice
    unknown = [m for m in member_statuses(campaigns, cid).values() if m["delivery"] == "unknown"]
    assert len(unknown) == 1 and "not resent" in unknown[0]["last_error"]


def test_two_workers_sending_at_once_never_send_a_member_twice(system, sink):
    accounts, campaigns = system
    _, mailbox = sink
    start(campaigns), start(campaigns), start(accounts)
    food = unique_industry()
    bodega = new_account(accounts, food)
    for i in range(24):
        new_contact(accounts, bodega, f"P{i}")
    cid = new_campaign(campaigns, segment={"industry": [food]})["id"]
    build_until(campaigns, cid, 24)
    campaigns.client.post(f"/api/v1/campaigns/{cid}/launch", headers=MK)
    until(lambda: progress(campaigns, cid)["sent"] == 24, 30)
    recipients = [m["X-Cadena-Contact-Id"] for m in mailbox.messages if m["X-Cadena-Campaign-Id"] == cid]
    assert len(recipients) == 24 and len(set(recipients)) == 24


def test_roi_from_real_won_events(system, amqp_url):
    accounts, campaigns = system
    listener = Listener(amqp_url, ["campaigns.member.#"])
    start(campaigns), start(accounts)
    food = unique_industry()
    bodega, late = new_account(accounts, food), new_account(accounts, food, name="Conservas del Cantábrico")
    ana, eva = new_contact(accounts, bodega, "Ana"), new_contact(accounts, late, "Eva")
    campaign = new_campaign(campaigns, channel="event", segment={"industry": [food]},
                            budget={"amount": "1000.00", "currency": "EUR"},
                            actual_cost={"amount": "800.00", "currency": "EUR"})
    cid = campaign["id"]
    build_until(campaigns, cid, 2)
    now = datetime.now(timezone.utc)
    publish(amqp_url, "opportunities.opportunity.won", {  # Eva's company bought before she answered
        "opportunity_id": "opp-early", "account": {"id": late, "name": "Conservas"}, "primary_contact": None,
        "amount": {"amount": "9999.99", "currency": "EUR"}, "won_at": (now - timedelta(days=3)).isoformat(),
        "line_items": [], "currency": "EUR", "close_date": now.date().isoformat()}, "opp-early")
    for contact_id in (ana, eva):
        reply = campaigns.client.patch(f"/api/v1/campaigns/{cid}/members/{contact_id}", json={"status": "responded"},
                                       headers=MK)
        assert reply.status_code == 200
    tagged = str(uuid.uuid4())
    publish(amqp_url, "opportunities.opportunity.created", {
        "id": tagged, "account_id": str(uuid.uuid4()), "campaign_id": cid, "stage": "prospecting",
        "amount": {"amount": "500.00", "currency": "EUR"}}, tagged)
    publish(amqp_url, "opportunities.opportunity.won", {
        "opportunity_id": tagged, "account": {"id": "another", "name": "Otra"}, "amount": {"amount": "750.25",
        "currency": "EUR"}, "won_at": (now + timedelta(seconds=1)).isoformat(), "currency": "EUR",
        "line_items": [], "close_date": now.date().isoformat()}, tagged)
    publish(amqp_url, "opportunities.opportunity.won", {
        "opportunity_id": "opp-ana", "account": {"id": bodega, "name": "Bodegas"},
        "amount": {"amount": "1234.50", "currency": "EUR"}, "won_at": (now + timedelta(seconds=2)).isoformat(),
        "currency": "EUR", "line_items": [], "close_date": now.date().isoformat()}, "opp-ana")

    def roi():
        body = campaigns.client.get(f"/api/v1/campaigns/{cid}/roi", headers=MK).get_json()
        return body if body["won_deals"] == 2 else None

    body = until(roi, 15)
    assert body["cost"] == {"amount": "800.00", "currency": "EUR"}
    assert body["influenced_revenue"] == {"amount": "1984.75", "currency": "EUR"}
    expected = ((Decimal("1984.75") - Decimal("800")) / Decimal("800")).quantize(Decimal("0.0001"))
    assert Decimal(str(body["roi"])) == expected == Decimal("1.4809")
    assert {d["opportunity_id"]: d["reason"] for d in body["deals"]} == {tagged: "campaign", "opp-ana": "response"}
    responded = until(lambda: listener.of_type("campaigns.member.responded", cid)
                      if len(listener.of_type("campaigns.member.responded", cid)) == 2 else None, 10)
    assert {e["data"]["contact_id"] for e in responded} == {ana, eva}
    assert all(set(e["data"]) >= {"campaign_id", "contact_id", "account_id"} for e in responded)
    listener.delete()


class PickyServer(MailboxHandler):
    """A real SMTP server that refuses some recipients, for good or for now."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody."):
            return "550 5.1.1 No such user"
        if address.startswith("busy."):
            return "451 4.3.0 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_refusals_from_a_real_server_fail_or_wait_and_the_rest_is_sent(build):
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    picky = PickyServer()
    controller = Controller(picky, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        campaigns = build("campaigns", smtp_url=f"smtp://127.0.0.1:{port}", extra={"interval": "0.2"})
        accounts = build("accounts")
        start(campaigns), start(accounts)
        food = unique_industry()
        bodega = new_account(accounts, food)
        nobody = new_contact(accounts, bodega, "Nadie", email=f"nobody.{uuid.uuid4().hex[:6]}@bodegas.example")
        busy = new_contact(accounts, bodega, "Ocupado", email=f"busy.{uuid.uuid4().hex[:6]}@bodegas.example")
        fine = {new_contact(accounts, bodega, f"P{i}") for i in range(3)}
        cid = new_campaign(campaigns, segment={"industry": [food]})["id"]
        build_until(campaigns, cid, 5)
        campaigns.client.post(f"/api/v1/campaigns/{cid}/launch", headers=MK)
        until(lambda: progress(campaigns, cid)["sent"] == 3 and progress(campaigns, cid)["failed"] == 1, 20)
        members = member_statuses(campaigns, cid)
        assert members[nobody]["delivery"] == "failed" and "550" in members[nobody]["last_error"]
        assert members[busy]["delivery"] == "pending" and "451" in members[busy]["last_error"]
        assert {m["X-Cadena-Contact-Id"] for m in picky.messages} == fine
    finally:
        controller.stop()
