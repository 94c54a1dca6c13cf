"""The operator tools behind `cadena events tail` and `cadena events replay-dlq`,
on the real RabbitMQ."""
from __future__ import annotations

import threading
import uuid

import pika
import pytest

from shared.bus import QueueSpec, declare_queue, parameters
from shared.events import CONTENT_TYPE, EXCHANGE, encode, new_event
from shared.tools import replay_dead_letters, tail_events
from tests.support.wait import until


@pytest.fixture
def channel(amqp_url):
    conn = pika.BlockingConnection(parameters(amqp_url))
    ch = conn.channel()
    ch.confirm_delivery()
    yield ch
    conn.close()


def publish(channel, routing_key: str, body: bytes, message_id: str | None = None) -> None:
    channel.basic_publish(EXCHANGE, routing_key, body, pika.BasicProperties(
        content_type=CONTENT_TYPE, delivery_mode=2, message_id=message_id))


def event(topic: str, what: str, subject: str, **data) -> dict:
    return new_event(source="tools-test", type=f"{topic}.thing.{what}", subject=subject, data=data)


class Captured:
    """What has been printed so far (capsys hands each chunk out once)."""

    def __init__(self, capsys):
        self.capsys = capsys
        self.text = ""

    def __call__(self) -> str:
        self.text += self.capsys.readouterr().out
        return self.text


def start_tail(amqp_url: str, pattern: str, **options):
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(seen=tail_events(amqp_url, pattern, **options)),
                              daemon=True)
    thread.start()
    return thread, result


def test_tail_prints_the_events_that_match_the_pattern(amqp_url, channel, capsys):
    topic = f"tail{uuid.uuid4().hex[:8]}"
    output = Captured(capsys)
    thread, result = start_tail(amqp_url, f"{topic}.#", limit=3)
    until(lambda: f"Listening for '{topic}.#'" in output())  # printed once its queue is bound

    elsewhere = new_event(source="tools-test", type=f"other{topic}.thing.created", subject="nope", data={})
    first = event(topic, "created", "s-first", n=1)
    second = event(topic, "updated", "s-second", n=2)
    publish(channel, elsewhere["type"], encode(elsewhere))
    publish(channel, first["type"], encode(first), first["id"])
    publish(channel, f"{topic}.thing.garbled", b"{not a cloudevent")
    publish(channel, second["type"], encode(second), second["id"])

    thread.join(timeout=15)
    assert not thread.is_alive(), "tail did not stop after its limit"
    assert result["seen"] == 3
    text = output()
    assert f"{topic}.thing.created" in text and "subject=s-first" in text and f"id={first['id'][:8]}" in text
    assert f"correlation={first['correlationid'][:8]}" in text
    assert f"{topic}.thing.updated" in text and "subject=s-second" in text
    assert f"{topic}.thing.garbled: not a CloudEvent" in text
    assert "nope" not in text and f"other{topic}" not in text
    assert text.index("s-first") < text.index("garbled") < text.index("s-second")  # as they passed


def test_tail_shows_event_data_when_asked(amqp_url, channel, capsys):
    topic = f"tail{uuid.uuid4().hex[:8]}"
    output = Captured(capsys)
    thread, result = start_tail(amqp_url, f"{topic}.*.created", show_data=True, limit=1)
    until(lambda: "Listening" in output())
    created = event(topic, "created", "acme", name="Acme Iberia", employees=42)
    publish(channel, created["type"], encode(created), created["id"])
    thread.join(timeout=15)
    assert result["seen"] == 1
    text = output()
    assert '"name": "Acme Iberia"' in text and '"employees": 42' in text


def declare(channel, topic: str) -> QueueSpec:
    queue = QueueSpec(f"test.tools.{topic}", (f"{topic}.#",), delivery_limit=3)
    declare_queue(channel, queue)
    return queue


def depth(channel, name: str) -> int:
    return channel.queue_declare(name, passive=True).method.message_count


def dead_letter_all(channel, queue: QueueSpec, expected: int) -> None:
    """Take every message and refuse it for good, as a consumer does with a poison message."""
    refused = 0

    def refuse_next() -> bool:
        nonlocal refused
        method, _props, _body = channel.basic_get(queue.name, auto_ack=False)
        if method is not None:
            channel.basic_nack(method.delivery_tag, requeue=False)
            refused += 1
        return refused == expected

    until(refuse_next)
    until(lambda: depth(channel, queue.dlq) == expected)


def drain(channel, name: str) -> list[tuple]:
    got = []
    while True:
        method, props, body = channel.basic_get(name, auto_ack=True)
        if method is None:
            return got
        got.append((props, body))


def test_replay_moves_dead_letters_back_to_their_queue(amqp_url, channel):
    topic = f"dlq{uuid.uuid4().hex[:8]}"
    queue = declare(channel, topic)
    try:
        sent = [event(topic, "happened", f"s{i}", n=i) for i in range(3)]
        for ev in sent:
            publish(channel, ev["type"], encode(ev), ev["id"])
        until(lambda: depth(channel, queue.name) == 3)
        dead_letter_all(channel, queue, 3)
        assert depth(channel, queue.name) == 0

        assert replay_dead_letters(amqp_url, queue.name) == 3

        assert depth(channel, queue.dlq) == 0
        until(lambda: depth(channel, queue.name) == 3)
        replayed = drain(channel, queue.name)
        assert [body for _props, body in replayed] == [encode(ev) for ev in sent]  # same bytes, same order
        for props, _body in replayed:
            assert props.delivery_mode == 2 and props.content_type == CONTENT_TYPE
            assert props.message_id in {ev["id"] for ev in sent}
            assert props.headers["x-cadena-replayed"] == 1
            assert "x-death" not in props.headers

        # A message that dies again can be replayed again; the count says how often.
        again = event(topic, "happened", "again")
        publish(channel, again["type"], encode(again), again["id"])
        until(lambda: depth(channel, queue.name) == 1)
        dead_letter_all(channel, queue, 1)
        assert replay_dead_letters(amqp_url, queue.name) == 1
        until(lambda: depth(channel, queue.name) == 1)
        method, _props, _body = channel.basic_get(queue.name, auto_ack=False)
        channel.basic_nack(method.delivery_tag, requeue=False)
        until(lambda: depth(channel, queue.dlq) == 1)
        assert replay_dead_letters(amqp_url, queue.name) == 1
        until(lambda: depth(channel, queue.name) == 1)
        [(props, body)] = drain(channel, queue.name)
        assert body == encode(again) and props.headers["x-cadena-replayed"] == 2
    finally:
        channel.queue_delete(queue.name)
        channel.queue_delete(queue.dlq)


def test_replay_of_an_empty_dead_letter_queue_moves_nothing(amqp_url, channel):
    topic = f"dlq{uuid.uuid4().hex[:8]}"
    queue = declare(channel, topic)
    try:
        assert replay_dead_letters(amqp_url, queue.name) == 0
        assert depth(channel, queue.name) == 0
    finally:
        channel.queue_delete(queue.name)
        channel.queue_delete(queue.dlq)
