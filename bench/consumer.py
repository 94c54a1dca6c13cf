"""Consuming events with the inbox vs a raw pika consumer, same run, same
broker, same messages (real CloudEvents on quorum queues).

- raw: pika BlockingConnection, manual ack, prefetch 100, nothing else.
- ours: what a worker runs, shared.bus.Consumer (prefetch 100) handing each
  window of ready deliveries to shared.inbox.handle_batch on a fresh
  Postgres database: decode and validate every CloudEvent, one transaction
  per window that inserts every (consumer, event id) into the inbox in one
  statement and runs the handlers of the new ones (here: nothing), commit,
  then one multiple-ack.

Target: ours / raw ≥ 0.5. Also printed: the same with one transaction per
message (shared.inbox.handle), what workers ran before windows.
"""
from __future__ import annotations

import argparse
import threading
import time
import uuid

import pika

from shared import config
from shared.bus import ConfirmingPublisher, Consumer, QueueSpec, declare_queue, parameters
from shared.events import encode, new_event
from shared.inbox import handle, handle_batch
from shared.migrations import upgrade

ROUTING_KEY = "bench.consumer.ping"


def _fill(amqp_url: str, queue: QueueSpec, n: int) -> None:
    """Declare the queue as a service would and put n real events on it (windowed confirms)."""
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        channel = conn.channel()
        channel.queue_delete(queue.name)
        channel.queue_delete(queue.dlq)
        declare_queue(channel, queue)
    finally:
        conn.close()
    publisher = ConfirmingPublisher(amqp_url)
    try:
        for start in range(0, n, 1000):
            batch = []
            for i in range(start, min(n, start + 1000)):
                event = new_event(source="bench", type=ROUTING_KEY, subject=str(i),
                                  data={"n": i, "name": "Ana García", "email": f"ana{i}@bench.example"})
                batch.append((ROUTING_KEY, encode(event), event["id"]))
            assert all(publisher.publish_batch(batch))
    finally:
        publisher.close()


def _drop(amqp_url: str, queue: QueueSpec) -> None:
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        channel = conn.channel()
        channel.queue_delete(queue.name)
        channel.queue_delete(queue.dlq)
    finally:
        conn.close()


def raw_consume(amqp_url: str, queue: QueueSpec, n: int, prefetch: int = 100) -> float:
    """Messages per second, first delivery to last ack."""
    conn = pika.BlockingConnection(parameters(amqp_url))
    channel = conn.channel()
    channel.basic_qos(prefetch_count=prefetch)
    state = {"count": 0, "first": 0.0, "last": 0.0}

    def on_message(ch, method, _props, _body):
        if state["count"] == 0:
            state["first"] = time.perf_counter()
        ch.basic_ack(method.delivery_tag)
        state["count"] += 1
        if state["count"] == n:
            state["last"] = time.perf_counter()
            ch.stop_consuming()

    channel.basic_consume(queue.name, on_message, auto_ack=False)
    channel.start_consuming()
    conn.close()
    return (n - 1) / (state["last"] - state["first"])


def inbox_consume(amqp_url: str, db, queue: QueueSpec, n: int, prefetch: int = 100, *, windowed: bool = True) -> float:
    """Messages per second through shared.bus.Consumer and the inbox, first delivery to last ack.

    windowed: what a worker runs (``on_batch`` → ``shared.inbox.handle_batch``,
    one transaction and one multiple-ack per window of ready deliveries);
    otherwise one transaction per message (``on_message`` → ``shared.inbox.handle``)."""
    handlers = {ROUTING_KEY: lambda event, uow: None}
    done = threading.Event()
    state = {"count": 0, "first": 0.0, "last": 0.0, "outcomes": {}, "windows": 0}

    def count(outcomes: list[str]) -> None:
        if state["count"] == 0:
            state["first"] = time.perf_counter()
        for outcome in outcomes:
            state["outcomes"][outcome] = state["outcomes"].get(outcome, 0) + 1
        state["count"] += len(outcomes)
        state["windows"] += 1
        if state["count"] >= n:
            state["last"] = time.perf_counter()
            done.set()

    def on_message(routing_key: str, body: bytes) -> str:
        outcome = handle(db, queue.name, handlers, routing_key, body)
        count([outcome])
        return outcome

    def on_batch(deliveries):
        outcomes = handle_batch(db, queue.name, handlers, deliveries)
        count(outcomes)
        return outcomes

    stop = threading.Event()
    kind = {"on_batch": on_batch} if windowed else {"on_message": on_message}
    consumer = Consumer(amqp_url, queue, prefetch=prefetch, stop=stop, name="bench", **kind)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    if not done.wait(timeout=max(60.0, n / 50)):
        stop.set()
        raise RuntimeError(f"the inbox consumer handled {state['count']} of {n} in time")
    stop.set()
    thread.join(timeout=10)
    assert state["outcomes"] == {"ack": n}, state["outcomes"]
    inbox_consume.mean_window = n / max(1, state["windows"])
    return (n - 1) / (state["last"] - state["first"])


def bench_consumer(servers, n: int, prefetch: int = 100) -> dict:
    url = servers.new_database("cadena_bench")
    queue = QueueSpec(f"bench.consumer.{uuid.uuid4().hex[:6]}", (ROUTING_KEY,), 5)
    try:
        upgrade("accounts", url)  # any service's schema: the inbox table is common
        from services.accounts.app import open_db

        db = open_db(config.load("accounts", database_url=url, amqp_url=servers.amqp_url))
        # Alternate, raw first, so drift hits both alike; keep the better of two runs each.
        raw, ours, single = [], [], []
        windows = []
        for _ in range(2):
            for runs, consume in ((raw, lambda: raw_consume(servers.amqp_url, queue, n, prefetch)),
                                  (ours, lambda: inbox_consume(servers.amqp_url, db, queue, n, prefetch)),
                                  (single, lambda: inbox_consume(servers.amqp_url, db, queue, n, prefetch,
                                                                 windowed=False))):
                _fill(servers.amqp_url, queue, n)
                runs.append(consume())
                if runs is ours:
                    windows.append(inbox_consume.mean_window)
                with db.engine.begin() as conn:
                    conn.execute(db.tables.inbox.delete())
        db.dispose()
        raw_rate, ours_rate, single_rate = max(raw), max(ours), max(single)
        return {"inbox_consumer_msgs_per_s": round(ours_rate, 1), "raw_pika_consumer_msgs_per_s": round(raw_rate, 1),
                "ratio": round(ours_rate / raw_rate, 3), "target": 0.5, "messages": n, "prefetch": prefetch,
                "ms_per_message_ours": round(1000 / ours_rate, 3), "ms_per_message_raw": round(1000 / raw_rate, 3),
                "mean_window": round(sum(windows) / len(windows), 1),
                "one_transaction_per_message_msgs_per_s": round(single_rate, 1),
                "one_transaction_per_message_ratio": round(single_rate / raw_rate, 3)}
    finally:
        _drop(servers.amqp_url, queue)
        servers.drop_database(url)


def main(args: list[str]) -> dict:
    import os

    os.environ.setdefault("CADENA_LOG_LEVEL", "WARNING")
    from shared.observability import configure_logging

    configure_logging("bench")
    parser = argparse.ArgumentParser(prog="cadena bench consumer")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--prefetch", type=int, default=100)
    opts, _ = parser.parse_known_args(args)
    from tests.support.servers import start as start_servers

    servers = start_servers()
    try:
        figures = bench_consumer(servers, opts.messages, opts.prefetch)
    finally:
        servers.stop()
    print(f"consumer: inbox {figures['inbox_consumer_msgs_per_s']} msg/s vs raw pika (manual ack, prefetch "
          f"{figures['prefetch']}) {figures['raw_pika_consumer_msgs_per_s']} msg/s → ratio {figures['ratio']} "
          f"(target ≥ {figures['target']})")
    print(f"  (one transaction per window, mean window {figures['mean_window']}; with one transaction per "
          f"message instead: {figures['one_transaction_per_message_msgs_per_s']} msg/s → ratio "
          f"{figures['one_transaction_per_message_ratio']})")
    from bench.runner import save

    print(f"report: {save('consumer', figures)}")
    return figures
