"""Webhook deliveries per second to a local receiver vs raw POSTs, same run,
same receiver (a real HTTP server on 127.0.0.1), same payload.

- raw: one thread pool (as many threads as the delivery worker has) POSTing
  the same signed CloudEvent body over keep-alive connections, nothing else.
- ours: what the delivery worker does for each delivery owed on a fresh
  Postgres database: lease it (claim), read it, sign it, check the
  destination's addresses, POST it, and record the attempt and the outcome
  in one transaction (settle), dispatched by DeliveryWorker with its pool.

The figure is deliveries/s, first lease to last settle; the ratio says what
the bookkeeping that makes deliveries durable and retryable costs.
"""
from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import urllib3

from shared import config
from shared.db import utcnow
from shared.events import new_event
from shared.migrations import upgrade

from gateway import delivery, signing
from gateway.delivery_worker import DeliveryWorker
from gateway.models import Webhook, WebhookDelivery
from tests.support.receiver import Receiver


def _event(n: int) -> dict:
    return new_event(source="accounts", type="accounts.account.created", subject=str(n), data={
        "id": str(n), "name": f"Bodegas {n} S.A.", "country": "ES", "industry": "Alimentación y bebidas",
        "annual_revenue": {"amount": "9200000.00", "currency": "EUR"}, "owner_id": "u1", "version": 1})


def raw_posts(url: str, n: int, threads: int) -> float:
    """Requests per second of plain signed POSTs from one pool of threads."""
    body = delivery.encode_body(_event(0))
    headers = signing.headers([signing.new_secret()], "evt", body, utcnow())
    pool = urllib3.PoolManager(maxsize=threads, retries=False, timeout=urllib3.Timeout(total=10))
    data = body.encode()

    def post(_):
        response = pool.request("POST", url, body=data, headers=headers)
        assert response.status == 200

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as executor:
        list(executor.map(post, range(n)))
    rate = n / (time.perf_counter() - started)
    pool.clear()
    return rate


def _owe(db, url: str, n: int) -> None:
    now = utcnow()
    with db.transaction() as uow:
        hook = Webhook(url=url, events=["accounts.#"], secret=signing.new_secret(), enabled=True)
        uow.session.add(hook)
        uow.session.flush()
        rows = [{"webhook_id": hook.id, "event_id": (e := _event(i))["id"], "event_type": e["type"], "origin": "live",
                 "payload": delivery.encode_body(e), "status": delivery.PENDING, "attempts": 0,
                 "next_attempt_at": now, "created_at": now} for i in range(n)]
        uow.session.execute(WebhookDelivery.__table__.insert(), rows)


def our_deliveries(db, settings, url: str, n: int) -> float:
    """Deliveries per second through the delivery worker's dispatcher and senders."""
    _owe(db, url, n)
    worker = DeliveryWorker(settings, db, threading.Event())
    threads = [threading.Thread(target=run, daemon=True) for _name, run in worker.sending()]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + max(120.0, n / 20)
    while time.monotonic() < deadline:
        with db.sessions() as session:
            left = session.query(WebhookDelivery).filter(WebhookDelivery.status == delivery.PENDING).count()
        if not left:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    worker.stop.set()
    worker.wake.set()
    for thread in threads:
        thread.join(timeout=20)
    if left:
        raise RuntimeError(f"{left} of {n} deliveries still pending at the deadline")
    return n / elapsed


def bench_webhooks(servers, n: int, threads: int = 4) -> dict:
    url = servers.new_database("cadena_bench")
    try:
        upgrade("gateway", url)
        from gateway.app import open_db

        settings = config.load("gateway", database_url=url, amqp_url=servers.amqp_url, webhook_allow_private=True,
                               webhook_allowed_networks=("127.0.0.0/8",), webhook_threads=threads,
                               webhook_per_endpoint=threads)
        db = open_db(settings)
        raw, ours = [], []
        with Receiver(keep=False) as receiver:
            # Alternate, raw first, so drift hits both alike; keep the better of two runs each.
            for _ in range(2):
                raw.append(raw_posts(receiver.url("/raw"), n, threads))
                ours.append(our_deliveries(db, settings, receiver.url("/ours"), n))
        db.dispose()
    finally:
        servers.drop_database(url)
    raw_rate, ours_rate = max(raw), max(ours)
    return {"deliveries_per_s": round(ours_rate, 1), "raw_posts_per_s": round(raw_rate, 1),
            "ratio": round(ours_rate / raw_rate, 3), "deliveries": n, "threads": threads,
            "ms_per_delivery_ours": round(1000 * threads / ours_rate, 2),
            "ms_per_post_raw": round(1000 * threads / raw_rate, 2)}


def main(args: list[str]) -> dict:
    import os

    os.environ.setdefault("CADENA_LOG_LEVEL", "WARNING")
    from shared.observability import configure_logging

    configure_logging("bench")
    parser = argparse.ArgumentParser(prog="cadena bench webhooks")
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    opts, _ = parser.parse_known_args(args)
    from tests.support.servers import start as start_servers

    servers = start_servers()
    try:
        figures = bench_webhooks(servers, opts.deliveries, opts.threads)
    finally:
        servers.stop()
    print(f"webhooks: {figures['deliveries_per_s']} deliveries/s (lease, sign, POST, record) vs raw POSTs "
          f"{figures['raw_posts_per_s']}/s from {figures['threads']} threads → ratio {figures['ratio']}")
    from bench.runner import save

    print(f"report: {save('webhooks', figures)}")
    return figures
