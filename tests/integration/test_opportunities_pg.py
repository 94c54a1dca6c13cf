"""Opportunities on the real Postgres and RabbitMQ: the won event exactly
once (never for a rolled-back or refused close), the account replica's miss
fallback over HTTP, and the accounts service's view and lifecycle kept from
opportunity events by real workers."""
from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pika
import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from shared.auth import Principal
from shared.bus import parameters
from shared.db import UnitOfWork, utcnow
from shared.events import EXCHANGE
from services.accounts.jobs import mark_inactive_customers
from services.accounts.models import Account, AccountView, Contact
from services.opportunities import replica, service
from services.opportunities.models import AccountReplica
from services.opportunities.replica import AccountsClient
from tests.support.auth import headers
from tests.support.broker import Listener
from tests.support.wait import until

ADMIN = headers("admin")
NOWHERE = "http://127.0.0.1:1"  # no gateway: tests never ask a stranger's process for users


def start_worker(built):
    """The component's worker on a queue of its own (other tests' leftovers never reach it)."""
    worker = built.worker()
    worker.purpose = f"events-{uuid.uuid4().hex[:8]}"
    worker.start()
    until(lambda: _queue_exists(built.settings.amqp_url, worker.queue.name), timeout=15)
    return worker


def _queue_exists(amqp_url: str, name: str) -> bool:
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        conn.channel().queue_declare(name, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if conn.is_open:
            conn.close()


def backlog(built) -> int:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))


@pytest.fixture
def listener(amqp_url):
    listening = Listener(amqp_url, ["opportunities.opportunity.*"])
    yield listening
    listening.delete()


@pytest.fixture
def opps(build):
    built = build("opportunities", gateway_url=NOWHERE)
    built.app.extensions["cadena"].use_cases.accounts = None
    return built


def add_account(built, account_id=None, name="Construcciones Aranda S.L.") -> str:
    account_id = account_id or str(uuid.uuid4())
    with built.db.transaction() as uow:
        replica.upsert_account(uow.session, {"id": account_id, "name": name, "tax_id": "B09412345", "country": "ES",
                                             "billing_address": {"street": "Calle Mayor 1", "city": "Burgos",
                                                                 "postal_code": "09001", "country": "ES"},
                                             "version": 1})
    return account_id


LINES = [{"product_code": "ERP-LIC", "description": "Licencias ERP", "quantity": 12,
          "unit_price": {"amount": "450.00", "currency": "EUR"}},
         {"product_code": "IMPL", "description": "Implantación", "quantity": "2.5",
          "unit_price": {"amount": "833.33", "currency": "EUR"}}]


def test_won_is_published_exactly_once_and_never_for_a_rolled_back_or_refused_close(opps, listener, monkeypatch):
    account_id = add_account(opps)
    rep_id = str(uuid.uuid4())
    rep = headers("rep", rep_id, "Iberia")
    opp = opps.client.post("/api/v1/opportunities", json={"name": "ERP", "account_id": account_id,
                                                          "line_items": LINES}, headers=rep).get_json()
    url = f"/api/v1/opportunities/{opp['id']}"
    assert opps.client.patch(url, json={"stage": "negotiation"}, headers=rep).status_code == 200

    # A close whose transaction fails after the event was written: rolled back, nothing leaves.
    def broken_commit(self):
        raise RuntimeError("the database went away at commit")

    monkeypatch.setattr(UnitOfWork, "commit", broken_commit)
    with pytest.raises(RuntimeError):
        with opps.db.transaction() as uow:
            service.close_opportunity(uow, Principal(rep_id, "rep", "Iberia"), opp["id"], "won", {}, None,
                                      service.Deps())
    monkeypatch.undo()
    assert opps.client.get(url, headers=rep).get_json()["stage"] == "negotiation"
    assert opps.client.post(f"{url}/win", json={}, headers={**rep, "If-Match": '"1"'}).status_code == 412

    # Six people press "win" at once: one succeeds, the others are told it is closed.
    def win(_):
        return opps.client.post(f"{url}/win", json={"reason": "Mejor oferta"}, headers=rep).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(win, range(6)))
    assert statuses == [200] + [409] * 5
    assert opps.client.post(f"{url}/lose", json={}, headers=rep).status_code == 409

    start_worker(opps)
    [won] = until(lambda: listener.of_type("opportunities.opportunity.won", opp["id"]))
    until(lambda: backlog(opps) == 0)
    marker = opps.client.post("/api/v1/opportunities", json={"name": "Marker", "account_id": account_id,
                                                             "amount": {"amount": "1.00", "currency": "EUR"}},
                              headers=rep).get_json()
    until(lambda: listener.of_type("opportunities.opportunity.created", marker["id"]))
    assert len(listener.of_type("opportunities.opportunity.won")) == 1
    # the won-deal contract
    data = won["data"]
    assert won["source"] == "/cadena/opportunities" and won["subject"] == opp["id"]
    assert data["opportunity_id"] == opp["id"] and data["owner_id"] == rep_id
    assert data["account"]["name"] == "Construcciones Aranda S.L." and data["account"]["tax_id"] == "B09412345"
    assert data["amount"] == {"amount": "7483.33", "currency": "EUR"} and data["currency"] == "EUR"
    totals = [Decimal(li["total"]["amount"]) for li in data["line_items"]]
    assert totals == [Decimal("5400.00"), Decimal("2083.33")]  # 2.5 × 833.33 = 2083.325 → half up
    assert sum(totals) == Decimal(data["amount"]["amount"])
    method, props, _ = next(r for r in listener.raw if b'"opportunities.opportunity.won"' in r[2])
    assert props.message_id == won["id"] and props.delivery_mode == 2
    assert [e["data"]["from_stage"] for e in listener.of_type("opportunities.opportunity.stage_changed")] == [
        "prospecting"]
    assert_totals_match_deals(opps)


def assert_totals_match_deals(built):
    """The pipeline_totals buckets agree with the deals (the month expression is Postgres' own here)."""
    from services.opportunities import totals
    from services.opportunities.models import PipelineTotal

    with built.db.sessions() as session:
        kept = {tuple(r[:5]): tuple(int(v) for v in r[5:]) for r in session.execute(select(
            PipelineTotal.owner_id, PipelineTotal.currency, PipelineTotal.month, PipelineTotal.stage,
            PipelineTotal.forecast_category, PipelineTotal.deals, PipelineTotal.cents, PipelineTotal.weighted))
            if r.deals or r.cents or r.weighted}
        truth = {tuple(r[:5]): tuple(int(v) for v in r[5:]) for r in session.execute(totals.from_deals(session))}
        assert kept == truth and kept
        totals.rebuild(session)
        rebuilt = {tuple(r[:5]) for r in session.execute(select(
            PipelineTotal.owner_id, PipelineTotal.currency, PipelineTotal.month, PipelineTotal.stage,
            PipelineTotal.forecast_category))}
        session.rollback()
    assert rebuilt == set(truth)


def test_concurrent_changes_keep_the_totals_exact(opps):
    account_id = add_account(opps)
    owners = [str(uuid.uuid4()) for _ in range(3)]
    ids = []
    for i in range(12):
        who = headers("rep", owners[i % 3], "Iberia")
        ids.append((who, opps.client.post("/api/v1/opportunities", json={
            "name": f"D{i}", "account_id": account_id, "amount": {"amount": f"{100 + i}.{i:02d}", "currency": "EUR"},
            "close_date": "2026-11-15"}, headers=who).get_json()["id"]))

    def churn(item):
        who, opp_id = item
        url = f"/api/v1/opportunities/{opp_id}"
        results = [opps.client.patch(url, json={"stage": stage}, headers=who).status_code
                   for stage in ("qualification", "proposal", "negotiation")]
        results.append(opps.client.patch(url, json={"close_date": "2026-12-01"}, headers=who).status_code)
        results.append(opps.client.post(f"{url}/win", json={"close_date": "2026-12-02"}, headers=who).status_code)
        return results

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(churn, ids))
    assert all(code == 200 for codes in outcomes for code in codes)
    assert_totals_match_deals(opps)
    forecast = opps.client.get("/api/v1/forecast?period=2026-Q4", headers=ADMIN).get_json()
    assert forecast["closed_won"]["amount"] == f"{sum(Decimal(f'{100 + i}.{i:02d}') for i in range(12)):.2f}"


def test_replica_miss_reads_the_account_from_the_accounts_service_over_http(build):
    accounts = build("accounts", gateway_url=NOWHERE)
    opps = build("opportunities", gateway_url=NOWHERE)
    server = make_server("127.0.0.1", 0, accounts.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = AccountsClient(f"http://127.0.0.1:{server.server_port}", timeout=2)
        opps.app.extensions["cadena"].use_cases.accounts = client
        rep_id = str(uuid.uuid4())
        rep = headers("rep", rep_id, "Iberia")
        account = accounts.client.post("/api/v1/accounts", json={"name": "Recién Creada S.L.", "tax_id": "B7"},
                                       headers=rep).get_json()
        contact = accounts.client.post("/api/v1/contacts", json={"first_name": "Ana", "email": "ana@recien.es",
                                                                 "account_id": account["id"]}, headers=rep).get_json()
        # No worker runs: the account's event cannot have reached opportunities.
        reply = opps.client.post("/api/v1/opportunities", json={
            "name": "Primera", "account_id": account["id"], "primary_contact_id": contact["id"],
            "amount": {"amount": "10.00", "currency": "EUR"}}, headers=rep)
        assert reply.status_code == 201, reply.get_json()
        with opps.db.sessions() as session:
            kept = session.get(AccountReplica, account["id"])
            assert (kept.name, kept.tax_id, kept.owner_id) == ("Recién Creada S.L.", "B7", rep_id)
        unknown = opps.client.post("/api/v1/opportunities", json={
            "name": "Nada", "account_id": str(uuid.uuid4()), "amount": {"amount": "1.00", "currency": "EUR"}},
            headers=rep)
        assert unknown.status_code == 422 and "account_id" in unknown.get_json()["errors"]
    finally:
        server.shutdown()
    down = opps.client.post("/api/v1/opportunities", json={
        "name": "Caído", "account_id": str(uuid.uuid4()), "amount": {"amount": "1.00", "currency": "EUR"}},
        headers=headers("rep"))
    # accounts unreachable: refused, nothing written, and not with a false "does not exist"
    assert down.status_code == 503 and down.headers["Retry-After"]
    assert down.get_json()["type"].endswith("/owner-unavailable")


def test_account_view_and_lifecycle_follow_opportunity_events_through_real_workers(build, amqp_url):
    accounts = build("accounts", gateway_url=NOWHERE)
    opps = build("opportunities", gateway_url=NOWHERE)
    opps.app.extensions["cadena"].use_cases.accounts = None  # the replica must come from events
    lifecycle = Listener(amqp_url, ["accounts.contact.lifecycle_changed"])
    try:
        accounts_worker = start_worker(accounts)
        start_worker(opps)
        rep = headers("rep", str(uuid.uuid4()), "Iberia")
        account = accounts.client.post("/api/v1/accounts", json={
            "name": "Bodegas Valdeolmos S.A.", "tax_id": "A26123987", "country": "ES",
            "annual_revenue": {"amount": "9200000.00", "currency": "EUR"}}, headers=rep).get_json()
        contacts = [accounts.client.post("/api/v1/contacts", json={
            "first_name": n, "email": f"{n.lower()}@valdeolmos.es", "account_id": account["id"]},
            headers=rep).get_json()["id"] for n in ("Ana", "Luis")]

        def replica_has_account():
            with opps.db.sessions() as session:
                return session.get(AccountReplica, account["id"]) is not None

        until(replica_has_account, timeout=15)

        def view():
            return accounts.client.get(f"/api/v1/accounts/{account['id']}/view", headers=rep).get_json()

        def stages():
            with accounts.db.sessions() as session:
                return {c.lifecycle_stage for c in session.scalars(select(Contact).where(Contact.id.in_(contacts)))}

        opp = opps.client.post("/api/v1/opportunities", json={
            "name": "Etiquetado", "account_id": account["id"], "amount": {"amount": "1500.25", "currency": "EUR"}},
            headers=rep).get_json()
        until(lambda: view()["open_pipeline"]["amount"] == "1500.25", timeout=15)
        until(lambda: stages() == {"potential_customer"})
        opps.client.patch(f"/api/v1/opportunities/{opp['id']}", json={"amount": {"amount": "2000.00",
                                                                                 "currency": "EUR"}}, headers=rep)
        until(lambda: view()["open_pipeline"]["amount"] == "2000.00", timeout=15)
        assert opps.client.post(f"/api/v1/opportunities/{opp['id']}/win", json={}, headers=rep).status_code == 200
        until(lambda: view()["won_total"]["amount"] == "2000.00", timeout=15)
        until(lambda: stages() == {"active_customer"})
        assert view()["open_pipeline"]["amount"] == "0.00"

        # The won event again, as the broker may redeliver it, and a stray copy with a new id.
        outbox = opps.db.tables.outbox
        with opps.db.sessions() as session:
            body = session.scalar(select(outbox.c.body).where(outbox.c.routing_key == "opportunities.opportunity.won"))
        event = json.loads(bytes(body))
        copy = {**event, "id": str(uuid.uuid4())}
        conn = pika.BlockingConnection(parameters(amqp_url))
        channel = conn.channel()
        channel.confirm_delivery()
        for raw in (bytes(body), json.dumps(copy).encode()):
            channel.basic_publish(EXCHANGE, "opportunities.opportunity.won", raw,
                                  pika.BasicProperties(content_type="application/cloudevents+json", delivery_mode=2))
        conn.close()
        inbox = accounts.db.tables.inbox

        def handled(event_id):
            with accounts.db.sessions() as session:
                return session.scalar(select(func.count()).select_from(inbox).where(inbox.c.event_id == event_id))

        until(lambda: handled(copy["id"]), timeout=15)
        assert handled(event["id"]) == 1
        body_view = view()
        assert (body_view["won_total"]["amount"], body_view["won_deals"]) == ("2000.00", 1)
        moves = lifecycle.of_type("accounts.contact.lifecycle_changed")
        assert sorted((e["data"]["from"], e["data"]["to"]) for e in moves) == sorted(
            [("prospect", "potential_customer")] * 2 + [("potential_customer", "active_customer")] * 2)
        assert accounts_worker.jobs  # the inactivity job runs in the accounts worker
    finally:
        lifecycle.delete()


def test_inactivity_job_moves_each_contact_once_with_two_workers(build):
    accounts = build("accounts", gateway_url=NOWHERE)
    long_ago = utcnow() - timedelta(days=400)
    with accounts.db.transaction() as uow:
        account = Account(name="Dormida S.A.", owner_id=str(uuid.uuid4()), tags=[])
        uow.session.add(account)
        uow.session.flush()
        uow.session.add(AccountView(account_id=account.id, currency="EUR", last_won_at=long_ago,
                                    last_activity_at=long_ago))
        for i in range(40):
            uow.session.add(Contact(first_name=f"C{i}", email=f"c{i}@dormida.es", account_id=account.id,
                                    owner_id=account.owner_id, lifecycle_stage="active_customer",
                                    lifecycle_changed_at=long_ago, interests=[]))
    results, errors = [], []

    def run():
        try:
            results.append(mark_inactive_customers(accounts.db, accounts.settings, batch=5))
        except Exception as exc:  # a double claim would surface as a stale-data error
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(results) == 40
    outbox = accounts.db.tables.outbox
    with accounts.db.sessions() as session:
        moves = session.scalar(select(func.count()).select_from(outbox).where(
            outbox.c.routing_key == "accounts.contact.lifecycle_changed"))
        left = session.scalar(select(func.count()).select_from(Contact).where(
            Contact.lifecycle_stage == "active_customer"))
    assert (moves, left) == (40, 0)


def test_billing_demo_binds_its_own_queue_and_invoices_each_deal_once(amqp_url, tmp_path):
    import io

    from shared.events import encode, new_event
    from services.opportunities import billing_demo

    queue = f"billing.demo.test-{uuid.uuid4().hex[:8]}"
    out, stop = io.StringIO(), threading.Event()
    thread = threading.Thread(target=billing_demo.run, args=(amqp_url, queue),
                              kwargs={"state_path": tmp_path / "ledger.sqlite", "stop": stop, "out": out},
                              daemon=True)
    thread.start()
    try:
        until(lambda: _queue_exists(amqp_url, queue), timeout=15)

        def won(name):
            data = {"opportunity_id": str(uuid.uuid4()), "name": name, "owner_id": str(uuid.uuid4()),
                    "account": {"id": str(uuid.uuid4()), "name": "Salmones del Sur S.A.", "tax_id": "96.543.210-K",
                                "country": "CL", "billing_address": None},
                    "primary_contact": None, "amount": {"amount": "100.00", "currency": "USD"},
                    "close_date": "2026-11-23", "won_at": utcnow().isoformat(), "currency": "USD",
                    "line_items": []}
            return new_event(source="opportunities", type=billing_demo.WON, subject=data["opportunity_id"], data=data)

        first, second = won("Primera"), won("Segunda")
        conn = pika.BlockingConnection(parameters(amqp_url))
        channel = conn.channel()
        channel.confirm_delivery()
        for event in (first, first, second):  # the broker may deliver an event twice
            channel.basic_publish(EXCHANGE, billing_demo.WON, encode(event),
                                  pika.BasicProperties(message_id=event["id"], delivery_mode=2))
        conn.close()
        until(lambda: "Segunda" in out.getvalue(), timeout=15)
        assert out.getvalue().count("DRAFT INVOICE") == 2
        assert out.getvalue().count("Primera") == 1
    finally:
        stop.set()
        thread.join(timeout=10)
        conn = pika.BlockingConnection(parameters(amqp_url))
        conn.channel().queue_delete(queue)
        conn.channel().queue_delete(queue + ".dlq")
        conn.close()


def test_bench_measures_pipeline_and_forecast_on_small_tables(servers):
    from bench import opportunities_bench

    report = opportunities_bench.run([200, 2000], requests=2, pg_url=servers.pg_admin_url)
    assert [r["deals"] for r in report["results"]] == [200, 2000]
    for result in report["results"]:
        for name in ("pipeline", "pipeline_team", "forecast_team"):
            assert result[name]["ms_per_request"] > 0 and result[name]["raw_sql_over_deals_ms"] > 0
    assert set(report["growth"]) == {"pipeline", "pipeline_team", "forecast_team"}
