"""Scaling a service's worker out: competing consumers on its queue, a relay
that stays single-active, and the metrics an operator watches while doing it.
Real Postgres and RabbitMQ."""
from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import Counter, defaultdict

import pika
from pika.exceptions import ChannelClosedByBroker
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from sqlalchemy import func, select

from services.accounts.app import create_worker
from shared.auth import on_user_changed
from shared.bus import bind_queue, parameters
from shared.events import CONTENT_TYPE, EXCHANGE, encode, new_event
from shared.ops_metrics import ConsumerLagCollector, register_consumer_lag
from shared.worker import Worker
from tests.support.contracts import declare_test_events
from tests.support.auth import headers
from tests.support.broker import Listener
from tests.support.proxy import TcpProxy
from tests.support.wait import until

EVENTS = 300
QUEUE = "cadena.accounts.events"


class Handled:
    """Which worker ran the effect of which event (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.by_worker: dict[str, list[str]] = defaultdict(list)

    def add(self, worker: str, event_id: str) -> None:
        with self._lock:
            self.by_worker[worker].append(event_id)

    def count(self, worker: str) -> int:
        with self._lock:
            return len(self.by_worker[worker])

    def ids(self) -> Counter:
        with self._lock:
            return Counter(i for ids in self.by_worker.values() for i in ids)


def recording(worker_name: str, handled: Handled, before=None):
    """The real accounts handler, wrapped to note who ran it (inside the
    handler's transaction, so a rolled-back attempt would count too)."""

    def on_user_created(event, uow):
        if before is not None:
            before(event)
        on_user_changed(event, uow)
        handled.add(worker_name, event["id"])

    return on_user_created


def user_created(n: int, run: str) -> dict:
    user_id = str(uuid.uuid4())
    return new_event(source="gateway", type="identity.user.created", subject=user_id, data={
        "id": user_id, "email": f"user{n}.{run}@example.com", "name": f"User {n}", "role": "rep",
        "team": "north", "manager_id": None, "active": True})


def publish(amqp_url: str, events: list[dict]) -> None:
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        for event in events:
            channel.basic_publish(EXCHANGE, event["type"], encode(event), pika.BasicProperties(
                content_type=CONTENT_TYPE, delivery_mode=2, message_id=event["id"]))
    finally:
        conn.close()


def queue_state(amqp_url: str, name: str) -> tuple[int, int] | None:
    """(messages ready, consumers) as the broker reports them; None before it is declared."""
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        method = conn.channel().queue_declare(name, passive=True).method
        return method.message_count, method.consumer_count
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return None
        raise
    finally:
        if conn.is_open:
            conn.close()


def consumed(outcome: str, queue: str = QUEUE) -> float:
    return REGISTRY.get_sample_value("cadena_events_consumed_total",
                                     {"component": "accounts", "queue": queue, "outcome": outcome}) or 0.0


def effects(db, events: list[dict]) -> tuple[int, int]:
    """(inbox rows, replicated users) for these events."""
    ids = [e["id"] for e in events]
    users = [e["data"]["id"] for e in events]
    inbox, replica = db.tables.inbox, db.tables.users
    with db.sessions() as session:
        received = session.scalar(select(func.count()).select_from(inbox)
                                  .where(inbox.c.consumer == QUEUE, inbox.c.event_id.in_(ids)))
        replicated = session.scalar(select(func.count()).select_from(replica).where(replica.c.id.in_(users)))
    return received, replicated


def stop_all(*workers_and_threads) -> None:
    for worker, _threads in workers_and_threads:
        worker.stop.set()
    for _worker, threads in workers_and_threads:
        for thread in threads:
            thread.join(timeout=10)


def test_two_workers_share_the_queue_and_each_event_takes_effect_once(build, amqp_url):
    accounts = build("accounts")
    handled = Handled()
    running = []
    for name in ("one", "two"):
        worker = accounts.worker()
        worker.handlers = {**worker.handlers, "identity.user.created": recording(name, handled)}
        running.append((worker, worker.start()))
    until(lambda: (queue_state(amqp_url, QUEUE) or (0, 0))[1] == 2)  # both attached, nobody else
    duplicates_before = consumed("duplicate")

    run = uuid.uuid4().hex[:6]
    events = [user_created(n, run) for n in range(EVENTS)]
    publish(amqp_url, events)

    until(lambda: effects(accounts.db, events) == (EVENTS, EVENTS), timeout=30)
    stop_all(*running)
    # Stopped consumers give back anything unacked: an empty queue now means
    # every message was acked and nothing is left to take effect a second time.
    assert queue_state(amqp_url, QUEUE) == (0, 0)

    times = handled.ids()
    assert set(times) == {e["id"] for e in events}
    assert set(times.values()) == {1}, "an event took effect twice"
    # RabbitMQ hands messages round-robin to consumers with free prefetch.
    assert handled.count("one") >= EVENTS // 10 and handled.count("two") >= EVENTS // 10, dict(
        one=handled.count("one"), two=handled.count("two"))
    assert consumed("duplicate") == duplicates_before  # no fault, no redelivery


def test_nothing_is_lost_when_a_worker_dies_with_messages_in_hand(build, amqp_url):
    """Worker "a" reaches the broker through a proxy that we cut while "a" holds
    unacked messages, one of them inside its handler's open transaction."""
    accounts = build("accounts")
    broker = pika.URLParameters(amqp_url)
    proxy = TcpProxy(broker.host, broker.port).start()
    handled = Handled()
    in_handler, release = threading.Event(), threading.Event()

    def stall_after_twenty(_event):
        if handled.count("a") >= 20:
            in_handler.set()
            release.wait(15)

    doomed = create_worker(dataclasses.replace(accounts.settings, amqp_url=proxy.url(amqp_url)))
    accounts._workers.append(doomed)  # stopped and disposed by the fixture
    doomed.handlers = {**doomed.handlers, "identity.user.created": recording("a", handled, stall_after_twenty)}
    survivor = accounts.worker()
    survivor.handlers = {**survivor.handlers, "identity.user.created": recording("b", handled)}
    running = [(doomed, doomed.start()), (survivor, survivor.start())]
    try:
        until(lambda: (queue_state(amqp_url, QUEUE) or (0, 0))[1] == 2)
        duplicates_before = consumed("duplicate")
        run = uuid.uuid4().hex[:6]
        events = [user_created(n, run) for n in range(EVENTS)]
        publish(amqp_url, events)

        until(in_handler.is_set, timeout=15)
        until(lambda: queue_state(amqp_url, QUEUE)[0] == 0, timeout=20)
        # Nothing is waiting in the queue, yet not everything took effect: the
        # rest is delivered and unacked (a's prefetch, the one in a's handler).
        in_flight = EVENTS - sum(handled.ids().values())
        assert in_flight >= 1

        proxy.stop()   # a's connection is gone: the broker returns a's unacked messages to the queue
        release.set()  # a's handler commits its effect; its ack can no longer reach the broker

        until(lambda: effects(accounts.db, events) == (EVENTS, EVENTS), timeout=30)
        until(lambda: sum(handled.ids().values()) >= EVENTS)
        stop_all(*running)
        assert queue_state(amqp_url, QUEUE) == (0, 0)
        times = handled.ids()
        assert set(times) == {e["id"] for e in events}
        assert set(times.values()) == {1}, "an event took effect twice"
        assert handled.count("a") >= 21 and handled.count("b") >= EVENTS - handled.count("a")
        # The event whose effect committed after a lost its connection came
        # back to b, and b's inbox recognised it.
        assert consumed("duplicate") - duplicates_before >= 1
    finally:
        release.set()
        proxy.stop()


def test_two_relays_on_one_outbox_publish_each_event_once_and_in_order(build, amqp_url):
    accounts = build("accounts", relay_batch=10)  # small batches: many chances to interleave
    listener = Listener(amqp_url, ["accounts.account.#"])
    try:
        account_id = str(uuid.uuid4())
        for start in range(0, 400, 20):
            with accounts.db.transaction() as uow:
                for seq in range(start, start + 20):
                    uow.publish("accounts.account.updated", account_id, {"id": account_id, "seq": seq, "changes": {}})
        relays = []
        for _ in range(2):
            worker = accounts.worker()  # its own Database and connections, as in another pod
            thread = threading.Thread(target=worker.relay().run, daemon=True)
            relays.append((worker, [thread]))
        for _worker, (thread,) in relays:
            thread.start()

        outbox = accounts.db.tables.outbox
        with accounts.db.sessions() as session:
            def backlog():
                session.rollback()
                return session.scalar(select(func.count()).select_from(outbox)
                                      .where(outbox.c.published_at.is_(None)))
            until(lambda: backlog() <= 300, timeout=30)
            stop_all(relays[0])  # one replica goes away mid-stream: the other carries on
            until(lambda: backlog() == 0, timeout=30)
        # Every row is marked only after its confirm, so everything published is in the queue now.
        received = [e["data"]["seq"] for e in listener.of_type("accounts.account.updated", account_id)]
        assert received == list(range(400))
        stop_all(relays[1])
    finally:
        listener.delete()


def sample(registry, name: str, **labels):
    return registry.get_sample_value(name, labels)


def test_consumer_lag_and_dead_letters_are_on_the_worker_metrics(build, amqp_url):
    accounts = build("accounts")
    topic = f"lag{uuid.uuid4().hex[:8]}"
    declare_test_events(topic, "counted")
    worker = Worker(accounts.settings, accounts.db, {f"{topic}.thing.counted": lambda event, uow: None},
                    purpose=f"{topic}-events")
    accounts._workers.append(worker)
    queue = worker.queue
    registry = CollectorRegistry()
    assert register_consumer_lag(worker, registry, min_interval=0) is not None
    labels = {"component": "accounts", "queue": queue.name}

    # Before the queue exists there is nothing to report, and the scrape still works.
    assert sample(registry, "cadena_consumer_lag", **labels) is None

    bind_queue(amqp_url, queue.name, queue.bindings, queue.delivery_limit)
    counted = [new_event(source="test", type=f"{topic}.thing.counted", subject=str(n), data={"n": n})
               for n in range(25)]
    publish(amqp_url, counted)
    until(lambda: sample(registry, "cadena_consumer_lag", **labels) == 25)
    assert sample(registry, "cadena_queue_consumers", **labels) == 0
    assert sample(registry, "cadena_dead_letters", component="accounts", queue=queue.dlq) == 0
    text = generate_latest(registry).decode()
    assert f'cadena_consumer_lag{{component="accounts",queue="{queue.name}"}} 25.0' in text

    # Reads are rate-limited: a collector that read a moment ago answers from memory.
    cached = ConsumerLagCollector(amqp_url, "accounts", [queue.name], min_interval=3600)
    [lag, *_] = cached.collect()
    publish(amqp_url, [new_event(source="test", type=f"{topic}.thing.counted", subject="late", data={"n": -1})])
    until(lambda: sample(registry, "cadena_consumer_lag", **labels) == 26)
    assert [s.value for s in cached.collect()[0].samples] == [s.value for s in lag.samples] == [25]
    cached.close()

    errors_before = REGISTRY.get_sample_value(
        "cadena_handler_errors_total", {"component": "accounts", "routing_key": f"{topic}.thing.counted",
                                        "kind": "invalid"}) or 0.0
    publish_raw(amqp_url, f"{topic}.thing.counted", b"\x00not an event")
    threading.Thread(target=worker.consumer().run, daemon=True).start()
    until(lambda: sample(registry, "cadena_consumer_lag", **labels) == 0
          and sample(registry, "cadena_queue_consumers", **labels) == 1)
    until(lambda: sample(registry, "cadena_dead_letters", component="accounts", queue=queue.dlq) == 1)
    assert REGISTRY.get_sample_value(
        "cadena_handler_errors_total", {"component": "accounts", "routing_key": f"{topic}.thing.counted",
                                        "kind": "invalid"}) == errors_before + 1

    # A broker that can't be reached leaves the series out rather than failing the scrape.
    unreachable = ConsumerLagCollector("amqp://guest:guest@127.0.0.1:1/%2F", "accounts", [queue.name])
    assert [family.samples for family in unreachable.collect()] == [[], [], []]


def publish_raw(amqp_url: str, routing_key: str, body: bytes) -> None:
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        channel.basic_publish(EXCHANGE, routing_key, body, pika.BasicProperties(delivery_mode=2))
    finally:
        conn.close()


def test_http_metrics_carry_route_templates_not_raw_paths(build):
    accounts = build("accounts")
    client = accounts.client
    created = client.post("/api/v1/accounts", json={"name": "Métricas SA"}, headers=headers("admin")).get_json()
    assert client.get(f"/api/v1/accounts/{created['id']}", headers=headers("admin")).status_code == 200
    assert client.get(f"/api/v1/accounts/{uuid.uuid4()}", headers=headers("admin")).status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    route = next(line for line in text.splitlines()
                 if line.startswith("cadena_http_request_duration_seconds_count")
                 and 'method="GET"' in line and "/api/v1/accounts/<" in line)
    assert 'component="accounts"' in route
    assert created["id"] not in text  # ids never become label values
    assert any(line.startswith("cadena_http_requests_total") and 'status="404"' in line
               and "/api/v1/accounts/<" in line for line in text.splitlines())
    assert "cadena_outbox_backlog" in text and "cadena_outbox_oldest_unpublished_age_seconds" in text
