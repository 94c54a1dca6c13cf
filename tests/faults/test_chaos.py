"""Chaos under load: creates through the gateway from several clients, each
with an Idempotency-Key and retrying until it gets its 201, while workers
are SIGKILLed and started again, the broker is cut and restored, and the
database is cut and restored once. Afterwards every replica equals its
source, nothing was applied twice, nothing is dead-lettered, and every
client holds a 201 for every key it sent."""
from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pika
import pytest
from sqlalchemy import create_engine, text

from tests.faults.helpers import queue_depth
from tests.faults.processes import make_processes
from tests.support.proxy import TcpProxy
from tests.support.wait import until

CLIENTS = int(os.environ.get("CADENA_CHAOS_CLIENTS", "6"))
PER_CLIENT = int(os.environ.get("CADENA_CHAOS_PER_CLIENT", "40"))  # at least; each 4th contact brings a deal
CONSUMERS = ("opportunities", "activities", "campaigns", "support")  # they keep copies of contacts


@dataclass
class Client:
    url: str
    token: str
    accounts: list[str]
    answers: dict = field(default_factory=dict)  # key → (status, id)
    attempts: Counter = field(default_factory=Counter)

    def send(self, path: str, body: dict, key: str, deadline: float) -> None:
        """Retry until a 201, as a well-behaved client does (same key, same body)."""
        data = json.dumps(body).encode()
        while time.monotonic() < deadline:
            req = urllib.request.Request(self.url + path, data=data, method="POST", headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {self.token}", "Idempotency-Key": key})
            try:
                with urllib.request.urlopen(req, timeout=15) as resp:
                    self.answers[key] = (resp.status, json.loads(resp.read())["id"])
                    return
            except urllib.error.HTTPError as exc:
                self.attempts[exc.code] += 1
                if exc.code < 500 and exc.code not in (401, 409):
                    self.answers[key] = (exc.code, exc.read()[:300])
                    return
            except OSError:
                self.attempts["connection"] += 1
            time.sleep(0.2)
        self.answers[key] = (None, "gave up")

    def run(self, n: int, index: int, deadline: float, chaos_over: threading.Event) -> None:
        """At least ``n`` contacts, and on until the chaos is over (so every fault meets load)."""
        rng = random.Random(index)
        i = -1
        while i + 1 < n or not chaos_over.is_set():
            i += 1
            account = rng.choice(self.accounts)
            self.send("/api/v1/contacts", {"first_name": f"C{index}-{i}", "email": f"c{index}-{i}-{uuid.uuid4().hex[:6]}@x.es",
                                           "account_id": account}, f"contact-{index}-{i}", deadline)
            if i % 4 == 0:
                self.send("/api/v1/opportunities", {"name": f"D{index}-{i}", "account_id": account,
                                                    "amount": {"amount": "100.00", "currency": "EUR"}},
                          f"deal-{index}-{i}", deadline)


def _login(url: str) -> str:
    req = urllib.request.Request(url + "/api/v1/auth/token", method="POST",
                                 data=json.dumps({"email": "admin@cadena.local", "password": "admin"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["access_token"]


def _post(url: str, token: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(url + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def chaos(servers, own_amqp_url, tmp_path):
    pg = TcpProxy("127.0.0.1", 5432).start()
    mq = TcpProxy("127.0.0.1", pika.URLParameters(own_amqp_url).port).start()
    system = make_processes(servers, own_amqp_url, tmp_path, pg_port=pg.port, amqp_port=mq.port)
    for component in system.components:
        system.start(f"{component}.web")
        system.start(f"{component}.worker")
    try:
        system.wait_ready()
        yield system, pg, mq
    finally:
        system.stop_all()
        pg.stop()
        mq.stop()
        for url in system.direct_databases.values():
            servers.drop_database(url)


def _scalar(url: str, sql: str, **params):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _chaos(system, pg, mq, log: list, over: threading.Event) -> None:
    """Kills and cuts, spread over the load."""
    steps = [(1.5, "kill campaigns.worker", lambda: system.kill("campaigns.worker")),
             (2.5, "start campaigns.worker", lambda: system.start("campaigns.worker")),
             (3.5, "cut the broker", mq.stop),
             (8.5, "restore the broker", mq.start),
             (9.5, "kill support.worker", lambda: system.kill("support.worker")),
             (10.5, "start support.worker", lambda: system.start("support.worker")),
             (11.5, "kill campaigns.worker", lambda: system.kill("campaigns.worker")),
             (12.0, "start campaigns.worker", lambda: system.start("campaigns.worker")),
             (13.0, "cut the database", pg.stop),
             (16.0, "restore the database", pg.start)]
    started = time.monotonic()
    for at, what, act in steps:
        time.sleep(max(0.0, at - (time.monotonic() - started)))
        act()
        log.append((round(time.monotonic() - started, 1), what))
    over.set()


def test_chaos_under_load_loses_nothing_and_doubles_nothing(chaos, own_amqp_url):
    system, pg, mq = chaos
    token = _login(system.url)
    accounts = [_post(system.url, token, "/api/v1/accounts", {"name": f"Cuenta {i}"})["id"] for i in range(12)]
    clients = [Client(system.url, token, accounts) for _ in range(CLIENTS)]
    deadline = time.monotonic() + 240
    log: list = []
    over = threading.Event()
    chaos_thread = threading.Thread(target=_chaos, args=(system, pg, mq, log, over))
    started = time.monotonic()
    threads = [threading.Thread(target=c.run, args=(PER_CLIENT, i, deadline, over)) for i, c in enumerate(clients)]
    chaos_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chaos_thread.join()
    load_s = time.monotonic() - started

    # Every client holds a 201 for every key it sent.
    answers = {k: v for c in clients for k, v in c.answers.items()}
    assert len(answers) >= CLIENTS * (PER_CLIENT + (PER_CLIENT + 3) // 4)
    failed = {k: v for k, v in answers.items() if v[0] != 201}
    assert not failed, f"keys without a 201: {list(failed.items())[:5]}"
    retries = sum((c.attempts for c in clients), Counter())
    assert retries, "no request met a fault: the faults came after the load"
    contact_ids = {v[1] for k, v in answers.items() if k.startswith("contact-")}
    deal_ids = {v[1] for k, v in answers.items() if k.startswith("deal-")}

    db = system.direct_databases
    # Each key made exactly one record and one event, however many retries.
    assert _scalar(db["accounts"], "SELECT count(*) FROM contacts") == len(contact_ids)
    assert _scalar(db["accounts"], "SELECT count(*) FROM outbox WHERE routing_key='accounts.contact.created'") \
        == len(contact_ids)
    assert _scalar(db["opportunities"], "SELECT count(*) FROM opportunities") == len(deal_ids)

    # Everything published and consumed.
    converge_started = time.monotonic()
    for component, url in db.items():
        def backlog():
            return _scalar(url, "SELECT count(*) FROM outbox WHERE published_at IS NULL")

        try:
            until(lambda: backlog() == 0, timeout=150)
        except AssertionError:
            log_tail = (system.log_dir / f"{component}.worker.log").read_text(errors="replace")[-4000:]
            pytest.fail(f"{component}'s outbox still holds {backlog()} unpublished events\n{log_tail}")
    for component in CONSUMERS:
        url = db[component]

        def handled():
            return _scalar(url, "SELECT count(*) FROM inbox WHERE routing_key='accounts.contact.created'")

        try:
            until(lambda: handled() == len(contact_ids), timeout=90)
        except AssertionError:
            log_tail = (system.log_dir / f"{component}.worker.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"{component} handled {handled()} of {len(contact_ids)} contact.created events; "
                        f"queue depth {queue_depth(own_amqp_url, f'cadena.{component}.events')}, dlq "
                        f"{queue_depth(own_amqp_url, f'cadena.{component}.events.dlq')}\n{log_tail}")
    until(lambda: _scalar(db["accounts"], "SELECT count(*) FROM account_view_opportunities") == len(deal_ids),
          timeout=90)
    converge_s = time.monotonic() - converge_started

    # Replicas equal their source; effects applied once.
    for component in ("opportunities", "campaigns", "support"):
        assert _scalar(db[component], "SELECT count(*) FROM contact_replica") == len(contact_ids), component
    assert _scalar(db["activities"], "SELECT count(*) FROM linked_records WHERE kind='contact'") == len(contact_ids)
    for account_id in accounts:
        deals = _scalar(db["opportunities"], "SELECT count(*) FROM opportunities WHERE account_id=:a", a=account_id)
        pipeline = _scalar(db["accounts"], "SELECT open_pipeline FROM account_views WHERE account_id=:a", a=account_id)
        assert Decimal(pipeline or 0) == Decimal(100) * deals, account_id
    for component in CONSUMERS + ("accounts",):
        assert queue_depth(own_amqp_url, f"cadena.{component}.events.dlq") == 0, component
        duplicates = _scalar(db[component], "SELECT count(*) - count(DISTINCT (consumer, event_id)) FROM inbox")
        assert duplicates == 0

    print(f"\nchaos: {len(answers)} creates by {CLIENTS} clients in {load_s:.1f} s "
          f"({len(answers) / load_s:.0f}/s) under {[w for _, w in log]}; failed attempts retried: {dict(retries)}; "
          f"caught up {converge_s:.1f} s after the load")
