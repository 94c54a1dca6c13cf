"""Event latency: from the commit of a write to the consumer's effect being
visible, in one process, with the outbox Relay and a Consumer running.

- ours: a unit of work commits a row change and its event (the outbox row;
  the trigger NOTIFYs the relay); the Relay wakes on LISTEN, publishes with
  confirms and marks the row sent; shared.bus.Consumer delivers it to
  shared.inbox.handle_batch (as a worker runs it), whose handler upserts a replica row and commits.
  Latency = that second commit minus the first.
- raw: the same two commits with no Cadena code — psycopg INSERT + COMMIT,
  then pika publish with a confirm (a dual write), a raw pika consumer, and
  psycopg INSERT + COMMIT of the effect.

Events are sent one at a time (each waits for the previous effect), so the
figures are latencies, not queueing. Targets: p50 < 20 ms, p99 < 100 ms.
"""
from __future__ import annotations

import argparse
import math
import statistics
import threading
import time
import uuid

import pika

from shared import config
from shared.auth import upsert_user
from shared.bus import Consumer, QueueSpec, bind_queue, declare_exchanges, parameters
from shared.events import EXCHANGE
from shared.inbox import handle_batch
from shared.migrations import upgrade
from shared.outbox import Relay
from marshmallow import fields
from shared.contracts import Payload, contracts, declare

ROUTING_KEY = "bench.latency.ping"


class Ping(Payload):
    n = fields.Integer(required=True)


declare(*contracts("A benchmark's ping (not a Cadena event).", Ping, ROUTING_KEY))


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(statistics.median(ms), 2), "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2), "mean_ms": round(statistics.fmean(ms), 2)}


def _drop_queue(amqp_url: str, name: str) -> None:
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        conn.channel().queue_delete(name)
        conn.channel().queue_delete(name + ".dlq")
    finally:
        conn.close()


def ours(db, amqp_url: str, n: int, warmup: int = 20) -> list[float]:
    queue = QueueSpec(f"bench.latency.{uuid.uuid4().hex[:6]}", (ROUTING_KEY,), 5)
    bind_queue(amqp_url, queue.name, queue.bindings, queue.delivery_limit)
    seen: dict[str, float] = {}
    arrived = threading.Condition()

    def on_ping(event, uow):  # the effect: a replica row, as services keep of other contexts' data
        upsert_user(uow.session, uow.db, {"id": event["subject"], "email": f"{event['subject'][:8]}@bench.example",
                                          "name": "Bench", "role": "rep"})

    def on_batch(deliveries: list[tuple[str, bytes]]) -> list[str]:
        # What a worker runs (shared.worker): the window of ready deliveries.
        outcomes = handle_batch(db, queue.name, {ROUTING_KEY: on_ping}, deliveries)
        with arrived:
            import json

            now = time.perf_counter()  # after the effect's commit
            for _routing_key, body in deliveries:
                seen[json.loads(body)["subject"]] = now
            arrived.notify_all()
        return outcomes

    stop = threading.Event()
    relay = Relay(db, amqp_url, stop=stop, linger=config.Settings.relay_linger)
    # The linger a worker runs with: events sent one at a time must not wait for it.
    consumer = Consumer(amqp_url, queue, on_batch=on_batch, prefetch=100, stop=stop, name="bench",
                        linger=config.Settings.consumer_linger)
    threads = [threading.Thread(target=t, daemon=True) for t in (relay.run, consumer.run)]
    for thread in threads:
        thread.start()
    consumer.connected.wait(10)
    latencies = []
    try:
        for i in range(n + warmup):
            subject = str(uuid.uuid4())
            with db.transaction() as uow:
                uow.publish(ROUTING_KEY, subject, {"n": i})
                committed = time.perf_counter()
            with arrived:
                if not arrived.wait_for(lambda: subject in seen, timeout=10):
                    raise RuntimeError(f"event {i} never reached the consumer")
            if i >= warmup:
                latencies.append(seen[subject] - committed)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        _drop_queue(amqp_url, queue.name)
    return latencies


def raw(pg_url: str, amqp_url: str, n: int, warmup: int = 20) -> list[float]:
    import psycopg

    queue = f"bench.latency.raw.{uuid.uuid4().hex[:6]}"
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS bench_latency (id text PRIMARY KEY, side text)")
    seen: dict[str, float] = {}
    arrived = threading.Condition()
    ready = threading.Event()
    stop = threading.Event()

    def consume():
        effect = psycopg.connect(plain)
        conn = pika.BlockingConnection(parameters(amqp_url))
        channel = conn.channel()
        declare_exchanges(channel)
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(queue, EXCHANGE, routing_key="bench.latency.raw")
        channel.basic_qos(prefetch_count=100)

        def on_message(ch, method, _props, body):
            subject = body.decode()
            effect.execute("INSERT INTO bench_latency (id, side) VALUES (%s, 'effect')", (subject + "-e",))
            effect.commit()
            ch.basic_ack(method.delivery_tag)
            with arrived:
                seen[subject] = time.perf_counter()
                arrived.notify_all()

        channel.basic_consume(queue, on_message, auto_ack=False)
        ready.set()
        while not stop.is_set():
            conn.process_data_events(time_limit=0.2)
        conn.close()
        effect.close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    ready.wait(10)
    write = psycopg.connect(plain)
    conn = pika.BlockingConnection(parameters(amqp_url))
    channel = conn.channel()
    channel.confirm_delivery()
    latencies = []
    try:
        for i in range(n + warmup):
            subject = str(uuid.uuid4())
            write.execute("INSERT INTO bench_latency (id, side) VALUES (%s, 'write')", (subject,))
            write.commit()
            committed = time.perf_counter()
            channel.basic_publish(EXCHANGE, "bench.latency.raw", subject.encode(),
                                  pika.BasicProperties(delivery_mode=2))
            with arrived:
                if not arrived.wait_for(lambda: subject in seen, timeout=10):
                    raise RuntimeError(f"raw event {i} never arrived")
            if i >= warmup:
                latencies.append(seen[subject] - committed)
    finally:
        stop.set()
        thread.join(timeout=10)
        conn.close()
        write.close()
        _drop_queue(amqp_url, queue)
    return latencies


def bench_latency(servers, n: int) -> dict:
    url = servers.new_database("cadena_bench")
    try:
        upgrade("accounts", url)
        from services.accounts.app import open_db

        db = open_db(config.load("accounts", database_url=url, amqp_url=servers.amqp_url))
        raw_figures = summary(raw(url, servers.amqp_url, n))
        ours_figures = summary(ours(db, servers.amqp_url, n))
        db.dispose()
        return {"ours": ours_figures, "raw_dual_write": raw_figures, "events": n,
                "ratio_p50": round(ours_figures["p50_ms"] / raw_figures["p50_ms"], 2),
                "ratio_p99": round(ours_figures["p99_ms"] / raw_figures["p99_ms"], 2),
                "target_p50_ms": 20, "target_p99_ms": 100}
    finally:
        servers.drop_database(url)


def main(args: list[str]) -> dict:
    import os

    os.environ.setdefault("CADENA_LOG_LEVEL", "WARNING")
    from shared.observability import configure_logging

    configure_logging("bench")
    parser = argparse.ArgumentParser(prog="cadena bench latency")
    parser.add_argument("--events", type=int, default=500)
    opts, _ = parser.parse_known_args(args)
    from tests.support.servers import start as start_servers

    servers = start_servers()
    try:
        figures = bench_latency(servers, opts.events)
    finally:
        servers.stop()
    o, r = figures["ours"], figures["raw_dual_write"]
    print(f"latency commit → effect: p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms (targets < "
          f"{figures['target_p50_ms']} / < {figures['target_p99_ms']} ms) vs raw dual write p50 {r['p50_ms']} ms, "
          f"p99 {r['p99_ms']} ms → ratio p50 {figures['ratio_p50']}, p99 {figures['ratio_p99']}")
    from bench.runner import save

    print(f"report: {save('latency', figures)}")
    return figures
