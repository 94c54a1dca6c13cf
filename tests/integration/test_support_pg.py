"""Support on the real Postgres and RabbitMQ: SLA breaches published once
with two workers and never again after a restart, gapless case numbers under
concurrency, and case events reaching the accounts view through a real
accounts worker."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select

from shared.bus import bind_queue
from tests.support.auth import headers
from tests.support.broker import Listener
from tests.support.wait import until

from services.support.models import AccountReplica, Case

SUPPORT = str(uuid.uuid4())
STAFF = headers("support", SUPPORT, "Soporte")


def start(built):
    """A worker of the component, its queue declared first so no event is missed."""
    worker = built.worker()
    queue = worker.queue
    bind_queue(built.settings.amqp_url, queue.name, queue.bindings, queue.delivery_limit)
    return worker, worker.start()


def stop(worker, threads) -> None:
    worker.stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads)


def breaches_in_outbox(db) -> int:
    outbox = db.tables.outbox
    with db.sessions() as session:
        return session.scalar(select(func.count()).where(outbox.c.routing_key == "support.case.sla_breached"))


def all_published(db) -> bool:
    outbox = db.tables.outbox
    with db.sessions() as session:
        return session.scalar(select(func.count()).where(outbox.c.published_at.is_(None))) == 0


def test_sla_breach_is_published_once_with_two_workers_and_not_again_after_restart(build, amqp_url):
    support = build("support")
    listener = Listener(amqp_url, ["support.case.sla_breached"])
    client = support.client
    policy = {"urgent": {"first_response_seconds": 2, "resolution_seconds": 3}}
    assert client.put("/api/v1/sla-policy", json=policy, headers=headers("admin")).status_code == 200

    def urgent(subject):
        return client.post("/api/v1/cases", json={"subject": subject, "priority": "urgent"}, headers=STAFF).json

    answered = urgent("Respondida")  # answered at once: only its resolution clock can breach
    client.post(f"/api/v1/cases/{answered['id']}/comments", json={"body": "Estamos en ello"}, headers=STAFF)
    cases = [answered] + [urgent(f"Caída {i}") for i in range(5)]
    expected = {(c["id"], t) for c in cases for t in ("first_response", "resolution")}
    expected.discard((answered["id"], "first_response"))

    first, second = start(support), start(support)
    seen: dict[tuple[str, str], float] = {}

    def collect():
        for event in listener.of_type("support.case.sla_breached"):
            seen.setdefault((event["subject"], event["data"]["target"]), time.time())
        return set(seen) == expected

    until(collect, timeout=15, interval=0.1)
    for (case_id, target), at in seen.items():
        due = next(c for c in cases if c["id"] == case_id)[f"{target}_due_at"]
        assert at - datetime.fromisoformat(due).timestamp() < 5, (target, at)
    until(lambda: all_published(support.db), timeout=10)
    assert breaches_in_outbox(support.db) == len(expected)
    assert len(listener.of_type("support.case.sla_breached")) == len(expected)  # once each, two workers

    stop(*first)
    stop(*second)
    start(support)  # a restart: the new worker sees the old breaches done
    late = client.post("/api/v1/cases", json={"subject": "Después", "priority": "urgent"}, headers=STAFF).json
    until(lambda: len(listener.of_type("support.case.sla_breached", late["id"])) == 2, timeout=15)
    until(lambda: all_published(support.db), timeout=10)
    assert breaches_in_outbox(support.db) == len(expected) + 2
    assert len(listener.of_type("support.case.sla_breached")) == len(expected) + 2
    listener.delete()


def test_case_numbers_are_unique_and_gapless_under_concurrency(build):
    support = build("support")
    barrier = threading.Barrier(8)

    def create(i):
        barrier.wait()
        return support.client.post("/api/v1/cases", json={"subject": f"Paralelo {i}"}, headers=STAFF)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(create, range(16)))
    assert {r.status_code for r in replies} == {201}
    assert sorted(r.json["number"] for r in replies) == list(range(1, 17))
    with support.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 16


def test_case_opened_reaches_the_account_view(build):
    accounts = build("accounts")
    support = build("support")
    start(support)
    start(accounts)
    rep = str(uuid.uuid4())
    account = accounts.client.post("/api/v1/accounts", json={"name": "Conservas del Cantábrico S.A."},
                                   headers=headers("rep", rep, "Iberia")).json
    with support.db.sessions() as session:  # accounts.account.created → support's replica
        until(lambda: session.get(AccountReplica, account["id"], populate_existing=True), timeout=10)
    case = support.client.post("/api/v1/cases", json={"subject": "Etiquetas mal impresas",
                                                      "account_id": account["id"]}, headers=STAFF)
    assert case.status_code == 201, case.json
    view_url = f"/api/v1/accounts/{account['id']}/view"

    def view():
        return accounts.client.get(view_url, headers=headers("readonly")).json

    until(lambda: view()["open_cases"] == 1, timeout=10)
    assert view()["health_score"] == 75  # -5 for the open case, -20 for no activity yet
    support.client.patch(f"/api/v1/cases/{case.json['id']}", json={"status": "resolved"}, headers=STAFF)
    until(lambda: view()["open_cases"] == 0, timeout=10)
    support.client.post(f"/api/v1/cases/{case.json['id']}/satisfaction", json={"score": 1}, headers=STAFF)
    until(lambda: view()["health_score"] == 65, timeout=10)  # -15 for the low rating


def test_the_same_email_delivered_concurrently_opens_one_case(build):
    from email.message import EmailMessage

    support = build("support")
    msg = EmailMessage()
    msg["From"] = "cliente@ejemplo.es"
    msg["Subject"] = "Pedido sin entregar"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@ejemplo.es>"
    msg.set_content("El pedido 1234 no ha llegado.")
    barrier = threading.Barrier(6)

    def deliver(_):
        barrier.wait()
        return support.client.post("/api/v1/cases/inbound-email", data=msg.as_bytes(),
                                   content_type="message/rfc822", headers=STAFF)

    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(deliver, range(6)))
    assert sorted(r.status_code for r in replies) == [200] * 5 + [201]
    assert len({r.json["id"] for r in replies}) == 1
    with support.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
