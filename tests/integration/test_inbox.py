"""Idempotent consumers and dead letters on the real RabbitMQ and Postgres."""
from __future__ import annotations

import uuid

import pika
import pytest
from sqlalchemy import func, select

from shared.bus import parameters
from shared.events import EXCHANGE, encode, new_event
from shared.inbox import PermanentError
from shared.worker import Worker
from tests.support.contracts import declare_test_events
from tests.support.wait import until


def publish(amqp_url: str, routing_key: str, body: bytes, times: int = 1) -> None:
    conn = pika.BlockingConnection(parameters(amqp_url))
    channel = conn.channel()
    channel.confirm_delivery()
    for _ in range(times):
        channel.basic_publish(EXCHANGE, routing_key, body, pika.BasicProperties(delivery_mode=2))
    conn.close()


def dead_letters(amqp_url: str, queue: str) -> list[bytes]:
    conn = pika.BlockingConnection(parameters(amqp_url))
    channel = conn.channel()
    bodies = []
    while True:
        method, _props, body = channel.basic_get(queue + ".dlq", auto_ack=True)
        if method is None:
            break
        bodies.append(body)
    conn.close()
    return bodies


@pytest.fixture
def consumer(build):
    """A worker on the accounts database whose handlers record what they did."""
    accounts = build("accounts")
    effects: list[str] = []
    calls = {"flaky": 0}
    topic = f"test{uuid.uuid4().hex[:8]}"

    def on_counted(event, uow):
        effects.append(event["data"]["n"])

    def on_rejected(event, uow):
        raise PermanentError("this event can never be handled")

    def on_flaky(event, uow):
        calls["flaky"] += 1
        raise ConnectionError("the database blinked")

    handlers = {f"{topic}.thing.counted": on_counted, f"{topic}.thing.rejected": on_rejected,
                f"{topic}.thing.flaky": on_flaky}
    declare_test_events(topic, "counted", "rejected", "flaky")
    settings = accounts.settings.__class__(**{**accounts.settings.__dict__, "consumer_delivery_limit": 3})
    worker = Worker(settings, accounts.db, handlers, purpose=f"{topic}-events")
    accounts._workers.append(worker)
    worker.consumer_thread = worker.consumer()
    import threading

    threading.Thread(target=worker.consumer_thread.run, daemon=True).start()
    until(worker.consumer_thread.connected.is_set)
    return {"worker": worker, "effects": effects, "calls": calls, "topic": topic, "db": accounts.db,
            "queue": worker.queue.name}


def test_redelivered_event_has_no_second_effect(consumer, amqp_url):
    event = new_event(source="test", type=f"{consumer['topic']}.thing.counted", subject="x", data={"n": "one"})
    publish(amqp_url, event["type"], encode(event), times=3)  # the same event id three times
    other = new_event(source="test", type=f"{consumer['topic']}.thing.counted", subject="y", data={"n": "two"})
    publish(amqp_url, other["type"], encode(other))
    until(lambda: "two" in consumer["effects"])
    inbox = consumer["db"].tables.inbox
    until(lambda: _count(consumer["db"], inbox) == 2)
    assert sorted(consumer["effects"]) == ["one", "two"]


def _count(db, table) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_garbage_goes_to_the_dead_letter_queue_and_the_rest_flows(consumer, amqp_url):
    publish(amqp_url, f"{consumer['topic']}.thing.counted", b"\x00not json at all")
    good = new_event(source="test", type=f"{consumer['topic']}.thing.counted", subject="z", data={"n": "after"})
    publish(amqp_url, good["type"], encode(good))
    until(lambda: "after" in consumer["effects"])
    assert until(lambda: dead_letters(amqp_url, consumer["queue"])) == [b"\x00not json at all"]


def test_permanent_failure_is_dead_lettered_at_once(consumer, amqp_url):
    event = new_event(source="test", type=f"{consumer['topic']}.thing.rejected", subject="r", data={})
    publish(amqp_url, event["type"], encode(event))
    letters = until(lambda: dead_letters(amqp_url, consumer["queue"]))
    assert [e for e in letters if event["id"].encode() in e]


def test_transient_failure_is_retried_up_to_the_delivery_limit_then_dead_lettered(consumer, amqp_url):
    event = new_event(source="test", type=f"{consumer['topic']}.thing.flaky", subject="f", data={})
    publish(amqp_url, event["type"], encode(event))
    letters = until(lambda: dead_letters(amqp_url, consumer["queue"]), timeout=20)
    assert event["id"].encode() in letters[0]
    assert consumer["calls"]["flaky"] >= 3  # tried again before giving up
    # Nothing was recorded for the failed attempts.
    inbox = consumer["db"].tables.inbox
    with consumer["db"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(inbox).where(inbox.c.event_id == event["id"])) == 0
