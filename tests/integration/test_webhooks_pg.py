"""The webhook delivery worker on the real Postgres and RabbitMQ, delivering
to a real HTTP receiver on 127.0.0.1: retries after 500s, competing
workers, a hung endpoint that slows no other, and disabling after the retry
window (shrunk here through Settings)."""
from __future__ import annotations

import threading
import uuid

import pika
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook as Verifier

from shared.bus import bind_queue, parameters
from shared.events import CONTENT_TYPE, EXCHANGE, encode, new_event

from gateway.delivery_worker import QUEUE, DeliveryWorker
from gateway.models import WebhookAttempt
from tests.support.auth import headers
from tests.support.receiver import Receiver
from tests.support.wait import until

FAST = dict(webhook_allow_private=True, webhook_allowed_networks=("127.0.0.0/8",), webhook_retry_base=0.2,
            webhook_retry_max=1.0, webhook_retry_window=3.0, webhook_timeout=1.0, webhook_threads=4,
            webhook_per_endpoint=2)


@pytest.fixture
def gateway(build):
    built = build("gateway", **FAST)
    bind_queue(built.settings.amqp_url, QUEUE, ("#",), built.settings.consumer_delivery_limit)  # as the worker will
    conn = pika.BlockingConnection(parameters(built.settings.amqp_url))
    try:  # what earlier tests left on the shared queue is not this test's
        conn.channel().queue_purge(QUEUE)
    finally:
        conn.close()
    return built


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def admin(gateway):
    reply = gateway.client.post("/api/v1/auth/token", json={"email": "admin@cadena.local", "password": "admin"})
    return {"Authorization": "Bearer " + reply.get_json()["access_token"]}


def webhook(gateway, admin, url, events=("accounts.#",)) -> dict:
    reply = gateway.client.post("/api/v1/webhooks", json={"url": url, "events": list(events)}, headers=admin)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def publish(amqp_url: str, count: int, type_: str = "accounts.account.created") -> list[dict]:
    events = []
    for n in range(count):
        account = str(uuid.uuid4())
        events.append(new_event(source="accounts", type=type_, subject=account, data={"id": account, "name": f"A{n}"}))
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        for event in events:
            channel.basic_publish(EXCHANGE, event["type"], encode(event), pika.BasicProperties(
                content_type=CONTENT_TYPE, delivery_mode=2, message_id=event["id"]))
    finally:
        conn.close()
    return events


def start(worker: DeliveryWorker) -> list[threading.Thread]:
    threads = [threading.Thread(target=run, daemon=True) for _name, run in worker.targets()]
    for thread in threads:
        thread.start()
    return threads


@pytest.fixture
def workers(gateway):
    made: list[DeliveryWorker] = []

    def make() -> DeliveryWorker:
        worker = DeliveryWorker(gateway.settings, gateway.db, threading.Event())
        made.append(worker)
        start(worker)
        return worker

    yield make
    for worker in made:
        worker.stop.set()
        worker.wake.set()


def attempts(gateway, webhook_id: str) -> list[WebhookAttempt]:
    with gateway.db.sessions() as session:
        return list(session.scalars(select(WebhookAttempt).where(WebhookAttempt.webhook_id == webhook_id)
                                    .order_by(WebhookAttempt.id)))


def test_500s_are_retried_until_the_endpoint_takes_the_event(gateway, admin, receiver, workers):
    receiver.script("/flaky", 500, 500, 200)
    hook = webhook(gateway, admin, receiver.url("/flaky"))
    workers()
    [event] = publish(gateway.settings.amqp_url, 1)
    until(lambda: len(receiver.at("/flaky")) == 3, timeout=20)
    tries = receiver.at("/flaky")
    assert {r.headers["webhook-id"] for r in tries} == {event["id"]}
    for request in tries:
        assert Verifier(hook["secret"]).verify(request.body, request.headers)["id"] == event["id"]
    logged = until(lambda: (lambda a: a if len(a) == 3 else None)(attempts(gateway, hook["id"])))
    assert [(a.attempt, a.status_code) for a in logged] == [(1, 500), (2, 500), (3, 200)]
    assert logged[0].next_retry_at is not None and logged[2].next_retry_at is None


def test_competing_workers_share_the_work_and_send_each_event_once(gateway, admin, receiver, workers):
    hook = webhook(gateway, admin, receiver.url("/many"))
    first, second = workers(), workers()
    sent = {id(first): 0, id(second): 0}
    for worker in (first, second):
        real = worker.sender.post

        def counting(url, body, headers_, _real=real, _key=id(worker)):
            sent[_key] += 1
            return _real(url, body, headers_)

        worker.sender.post = counting
    events = publish(gateway.settings.amqp_url, 120)
    until(lambda: len(receiver.at("/many")) >= 120, timeout=60)
    ids = [r.headers["webhook-id"] for r in receiver.at("/many")]
    assert sorted(ids) == sorted(e["id"] for e in events)  # each once: leases keep the workers apart
    assert all(count > 0 for count in sent.values()), sent
    until(lambda: len(attempts(gateway, hook["id"])) == 120)  # settled a moment after they were sent


def test_a_hung_endpoint_slows_no_other(gateway, admin, receiver, workers):
    receiver.script("/hung", 200, pause=3.0)  # past the 1 s timeout
    hung = webhook(gateway, admin, receiver.url("/hung"))
    webhook(gateway, admin, receiver.url("/fine"))
    workers()
    publish(gateway.settings.amqp_url, 10)
    until(lambda: len(receiver.at("/fine")) == 10, timeout=20)
    # Ten deliveries to the hung one take at least five rounds of timeouts on its two threads.
    assert len(attempts(gateway, hung["id"])) < 10
    errors = until(lambda: [a for a in attempts(gateway, hung["id"]) if a.error])
    assert errors[0].error.startswith("timeout")


def test_failing_for_the_window_disables_the_webhook(gateway, admin, receiver, workers):
    receiver.script("/down", 500)
    hook = webhook(gateway, admin, receiver.url("/down"))
    workers()
    publish(gateway.settings.amqp_url, 1)
    disabled = until(lambda: (lambda h: h if not h["enabled"] else None)(
        gateway.client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin).get_json()), timeout=20)
    assert "HTTP 500" in disabled["disabled_reason"]
    tried = len(receiver.at("/down"))
    assert tried >= 3  # retried across the window before giving up
    with gateway.db.sessions() as session:
        outbox = gateway.db.tables.outbox
        keys = session.scalars(select(outbox.c.routing_key).where(outbox.c.aggregate_id == hook["id"])).all()
    assert keys == ["gateway.webhook.disabled"]
    publish(gateway.settings.amqp_url, 1)  # nothing more goes to a disabled webhook
    ping = gateway.client.get("/api/v1/webhooks", headers=admin)
    assert ping.status_code == 200 and len(receiver.at("/down")) == tried
