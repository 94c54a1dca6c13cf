"""The write path and the relay, each against a raw baseline in the same run.

1. Create a contact over HTTP (validation, auth, the contact row and its
   outbox row in one transaction) vs a bare Flask + SQLAlchemy insert of the
   same row, both served by the same threaded WSGI server and driven by the
   same client. Target ratio ≥ 0.8.
2. The outbox relay publishing committed rows (select, publish with windowed
   confirms, mark sent) vs raw pika publishing the same bodies with windowed
   confirms and nothing else. Target ratio ≥ 0.7.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
import uuid

import pika
import urllib3
from pika.adapters import select_connection
from sqlalchemy import insert, select, text
from werkzeug.serving import make_server

from shared import config
from shared.bus import parameters
from shared.db import new_id, utcnow
from shared.events import EXCHANGE, encode, new_event
from shared.migrations import upgrade
from shared.outbox import Relay
from tests.support import auth
from tests.support.servers import start as start_servers


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _drive(url: str, bodies: list[dict], headers: dict, clients: int) -> float:
    """Send every body once with `clients` concurrent connections; return requests/s."""
    pool = urllib3.PoolManager(maxsize=clients, retries=False)
    chunks = [bodies[i::clients] for i in range(clients)]
    errors = []

    def run(chunk):
        for body in chunk:
            resp = pool.request("POST", url, body=json.dumps(body).encode(), headers=headers)
            if resp.status != 201:
                errors.append(resp.data[:200])

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]!r}")
    return len(bodies) / elapsed


def baseline_app(url: str):
    """The least a service must do: parse JSON, insert the row, commit, answer."""
    from flask import Flask, jsonify, request

    from services.accounts.models import Contact
    from shared.db import make_engine
    from sqlalchemy.orm import sessionmaker

    engine = make_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    app = Flask("baseline")

    @app.post("/api/v1/contacts")
    def create():
        data = request.get_json()
        with sessions() as session:
            contact = Contact(first_name=data.get("first_name"), last_name=data.get("last_name"),
                              email=data.get("email"), owner_id=str(uuid.uuid4()), lifecycle_stage="prospect",
                              interests=[])
            session.add(contact)
            session.commit()
            return jsonify(id=contact.id, email=contact.email), 201

    return app, engine


def bench_write_path(servers, n: int, clients: int) -> dict:
    ours_url, base_url = servers.new_database("cadena_bench"), servers.new_database("cadena_bench")
    try:
        upgrade("accounts", ours_url)
        upgrade("accounts", base_url)
        import os

        from services.accounts.app import create_app

        # Access logs go to a terminal here; in production they go to a pipe.
        # Leave their cost out of both sides.
        os.environ.setdefault("CADENA_LOG_LEVEL", "WARNING")
        app = create_app(config.load("accounts", database_url=ours_url, amqp_url=servers.amqp_url),
                         verifier=auth.verifier())
        base, base_engine = baseline_app(base_url)
        ours_server, base_server = _serve(app), _serve(base)
        headers = {"Content-Type": "application/json", **auth.headers("admin")}

        def bodies(tag):
            return [{"first_name": "Ana", "last_name": f"García {i}", "email": f"ana.{tag}.{i}@bench.es"}
                    for i in range(n)]

        # Warm both up, then alternate runs so drift hits both alike.
        _drive(f"http://127.0.0.1:{ours_server.port}/api/v1/contacts", bodies("warm-o")[:50], headers, clients)
        _drive(f"http://127.0.0.1:{base_server.port}/api/v1/contacts", bodies("warm-b")[:50], headers, clients)
        ours, raw = [], []
        for round_ in range(3):
            raw.append(_drive(f"http://127.0.0.1:{base_server.port}/api/v1/contacts", bodies(f"b{round_}"), headers, clients))
            ours.append(_drive(f"http://127.0.0.1:{ours_server.port}/api/v1/contacts", bodies(f"o{round_}"), headers, clients))
        ours_server.shutdown()
        base_server.shutdown()
        app.extensions["cadena"].db.dispose()
        base_engine.dispose()
        ours_rate, raw_rate = sorted(ours)[1], sorted(raw)[1]
        return {"create_contact_rps": round(ours_rate, 1), "bare_insert_rps": round(raw_rate, 1),
                "ratio": round(ours_rate / raw_rate, 3), "target": 0.8, "requests": n, "clients": clients}
    finally:
        servers.drop_database(ours_url)
        servers.drop_database(base_url)


def _raw_windowed_publish(amqp_url: str, bodies: list[bytes], window: int) -> float:
    """Plain pika: publish with up to `window` unconfirmed messages in flight."""
    ioloop = select_connection.IOLoop()
    state = {"sent": 0, "confirmed": 0, "channel": None, "started": 0.0, "elapsed": 0.0}

    def publish_more():
        channel = state["channel"]
        while state["sent"] < len(bodies) and state["sent"] - state["confirmed"] < window:
            body = bodies[state["sent"]]
            channel.basic_publish(EXCHANGE, "bench.raw.published", body,
                                  pika.BasicProperties(delivery_mode=2, content_type="application/cloudevents+json"))
            state["sent"] += 1

    def on_confirm(frame):
        tag = frame.method.delivery_tag
        state["confirmed"] = tag if frame.method.multiple else max(state["confirmed"], tag)
        if state["confirmed"] >= len(bodies):
            state["elapsed"] = time.perf_counter() - state["started"]
            conn.close()
        else:
            publish_more()

    def on_channel(channel):
        state["channel"] = channel

        def ready(_frame):
            state["started"] = time.perf_counter()
            publish_more()

        channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True,
                                 callback=lambda _f: channel.confirm_delivery(on_confirm, callback=ready))

    conn = pika.SelectConnection(parameters(amqp_url)[0], on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
                                 on_close_callback=lambda *_: ioloop.stop(), custom_ioloop=ioloop)
    ioloop.start()
    return len(bodies) / state["elapsed"]


def _sink_queue(amqp_url: str, name: str, key: str) -> None:
    conn = pika.BlockingConnection(parameters(amqp_url))
    channel = conn.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_declare(name, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_purge(name)
    channel.queue_bind(name, EXCHANGE, routing_key=key)
    conn.close()


def _drop_queue(amqp_url: str, name: str) -> None:
    conn = pika.BlockingConnection(parameters(amqp_url))
    conn.channel().queue_delete(name)
    conn.close()


def bench_relay(servers, n: int, batch: int) -> dict:
    url = servers.new_database("cadena_bench")
    queue = f"bench.sink.{uuid.uuid4().hex[:6]}"
    try:
        upgrade("accounts", url)
        from services.accounts.app import open_db

        db = open_db(config.load("accounts", database_url=url, amqp_url=servers.amqp_url))
        bodies = [encode(new_event(source="accounts", type="bench.relay.published", subject=str(i),
                                   data={"first_name": "Ana", "last_name": f"García {i}", "email": f"a{i}@bench.es"}))
                  for i in range(n)]
        _sink_queue(servers.amqp_url, queue, "bench.#")
        raw = _raw_windowed_publish(servers.amqp_url, bodies, window=batch)

        outbox = db.tables.outbox
        with db.engine.begin() as conn:
            conn.execute(insert(outbox), [{"event_id": new_id(), "routing_key": "bench.relay.published",
                                           "aggregate_id": str(i), "body": b, "created_at": utcnow()}
                                          for i, b in enumerate(bodies)])
        relay = Relay(db, servers.amqp_url, batch=batch)
        from shared.bus import ConfirmingPublisher

        publisher = ConfirmingPublisher(servers.amqp_url)
        started = time.perf_counter()
        published = relay.drain(publisher)
        elapsed = time.perf_counter() - started
        publisher.close()
        with db.engine.connect() as conn:
            left = conn.scalar(select(text("count(*)")).select_from(outbox).where(outbox.c.published_at.is_(None)))
        db.dispose()
        assert published == n and left == 0, (published, left)
        ours = n / elapsed
        return {"relay_msgs_per_s": round(ours, 1), "raw_pika_windowed_msgs_per_s": round(raw, 1),
                "ratio": round(ours / raw, 3), "target": 0.7, "messages": n, "batch": batch}
    finally:
        _drop_queue(servers.amqp_url, queue)
        servers.drop_database(url)


def main(args: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="cadena bench write")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1000)
    opts, _ = parser.parse_known_args(args)
    servers = start_servers()
    try:
        write = bench_write_path(servers, opts.requests, opts.clients)
        print(f"write path: create contact {write['create_contact_rps']} req/s vs bare Flask+SQLAlchemy insert "
              f"{write['bare_insert_rps']} req/s → ratio {write['ratio']} (target ≥ {write['target']})")
        relay = bench_relay(servers, opts.messages, opts.batch)
        print(f"relay: {relay['relay_msgs_per_s']} msg/s vs raw pika windowed confirms "
              f"{relay['raw_pika_windowed_msgs_per_s']} msg/s → ratio {relay['ratio']} (target ≥ {relay['target']})")
    finally:
        servers.stop()
    from bench.runner import save

    figures = {"write_path": write, "relay": relay}
    print(f"report: {save('write', figures)}")
    return figures
