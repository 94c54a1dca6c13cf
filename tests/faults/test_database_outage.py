"""Postgres "restarts" under load: the accounts service reaches its database
through a TcpProxy that is cut for a few seconds (live connections dropped,
new ones refused) and restored. The same app and worker — never rebuilt —
answer again (pool_pre_ping), the relay resumes, and every committed write is
published exactly once. While the database is away, errors are problem+json
with nothing internal in them."""
from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy.engine import make_url

from shared.http import PROBLEM
from shared.migrations import upgrade
from tests.faults.helpers import ADMIN, backlog, standalone
from tests.support.broker import Listener
from tests.support.proxy import TcpProxy
from tests.support.wait import until

OUTAGE_SECONDS = 3.0
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "SELECT ", "INSERT ", "OperationalError")


@pytest.fixture
def proxied_accounts(servers, fault_amqp_url):
    url = servers.new_database()
    upgrade("accounts", url)
    real = make_url(url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432).start()
    built = standalone("accounts", real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                       fault_amqp_url)
    worker = built.worker()
    try:
        yield built, worker, proxy
    finally:
        worker.stop.set()
        proxy.stop()
        built.db.dispose()
        worker.db.dispose()
        servers.drop_database(url)


def test_service_and_relay_recover_from_a_database_restart_without_a_rebuild(proxied_accounts, fault_amqp_url):
    built, worker, proxy = proxied_accounts
    listener = Listener(fault_amqp_url, ["accounts.account.created"])
    client = built.client
    worker.start()
    created: list[str] = []
    failures: list[tuple[int, str, str]] = []

    def write() -> int:
        reply = client.post("/api/v1/accounts", json={"name": f"Reinicio {len(created)}"}, headers=ADMIN)
        if reply.status_code == 201:
            created.append(reply.get_json()["id"])
        else:
            failures.append((reply.status_code, reply.content_type, reply.get_data(as_text=True)))
        return reply.status_code

    try:
        for _ in range(20):
            assert write() == 201
        until(lambda: backlog(built.db) == 0, timeout=15)

        proxy.stop()  # the database goes away under load
        cut_at = time.monotonic()
        while time.monotonic() - cut_at < OUTAGE_SECONDS:
            write()
        ready = client.get("/readyz")
        proxy.start()  # ... and comes back on the same address

        assert failures, "writes kept succeeding with the database unreachable"
        assert ready.status_code == 503 and ready.content_type == PROBLEM
        assert "database" in ready.get_json()["detail"]
        for status, content_type, body in failures:
            assert status >= 500 and content_type == PROBLEM, (status, content_type, body[:300])
            assert not any(leak in body for leak in LEAKS), body[:500]

        # The same app answers again as soon as the database is back: no rebuild, no restart.
        until(lambda: write() == 201, timeout=10, interval=0.2)
        for _ in range(20):
            assert write() == 201
        until(lambda: client.get("/readyz").status_code == 200, timeout=10)
        # The relay (its LISTEN connection and its pool) recovered too.
        until(lambda: backlog(built.db) == 0, timeout=30)
        until(lambda: {e["subject"] for e in listener.drain()} >= set(created), timeout=15)
        subjects = Counter(e["subject"] for e in listener.events)
        assert sorted(subjects) == sorted(created) and set(subjects.values()) == {1}
    finally:
        listener.delete()


def test_database_outage_answers_503_not_500(proxied_accounts):
    built, _worker, proxy = proxied_accounts
    assert built.client.get("/api/v1/accounts", headers=ADMIN).status_code == 200
    proxy.stop()
    reply = built.client.get("/api/v1/accounts", headers=ADMIN)
    write = built.client.post("/api/v1/accounts", json={"name": "Sin base"}, headers=ADMIN)
    proxy.start()
    assert (reply.status_code, write.status_code) == (503, 503)
    assert reply.content_type == write.content_type == PROBLEM
