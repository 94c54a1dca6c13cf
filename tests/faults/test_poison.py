"""Poison messages on a real service queue, end to end: `cadena worker
accounts` runs as a real process on `cadena.accounts.events`; garbage and an
event its handler can never accept go to `cadena.accounts.events.dlq` at once,
the events around them flow, and `cadena events replay-dlq accounts` moves
the dead letters back (they fail the same way and return; nothing is lost)."""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from services.accounts.app import create_worker
from shared import config
from shared.migrations import upgrade
from tests.faults.helpers import (count, event, fresh_queue, publish, queue_depth, start_worker_process, stop_gently,
                                  take_all, worker_env)
from tests.support.wait import until


def user(name: str) -> tuple[str, tuple[str, bytes]]:
    user_id = str(uuid.uuid4())
    return user_id, event("identity.user.created", {"id": user_id, "email": f"{name}.{user_id[:6]}@cadena.example",
                                                    "name": name, "role": "rep", "team": None, "manager_id": None,
                                                    "active": True}, user_id, "gateway")


@pytest.fixture
def accounts_db(servers):
    url = servers.new_database()
    upgrade("accounts", url)
    yield url
    servers.drop_database(url)


def test_poison_goes_to_the_dead_letter_queue_and_the_rest_flows(accounts_db, fault_amqp_url, tmp_path):
    probe = create_worker(config.load("accounts", database_url=accounts_db, amqp_url=fault_amqp_url))
    queue = fresh_queue(fault_amqp_url, probe.queue)
    db, users = probe.db, probe.db.tables.users
    garbage = ("identity.user.created", b"\x00this is not a CloudEvent")
    # A well-formed won event the handler can never accept (won_at without a zone): a permanent error.
    unacceptable = event("opportunities.opportunity.won", {
        "opportunity_id": str(uuid.uuid4()), "account": {"id": str(uuid.uuid4())}, "won_at": "2026-05-01T10:00:00",
        "amount": {"amount": "10.00", "currency": "EUR"}}, source="opportunities")
    before_id, before = user("antes")
    after_id, after = user("despues")
    env = worker_env("accounts", accounts_db, fault_amqp_url, tmp_path)
    process = start_worker_process("accounts", env, tmp_path / "worker.log")
    try:
        publish(fault_amqp_url, [before, garbage, unacceptable, after])
        until(lambda: count(db, users, users.c.id.in_([before_id, after_id])) == 2, timeout=30)
        until(lambda: queue_depth(fault_amqp_url, queue.dlq) == 2, timeout=10)
        assert queue_depth(fault_amqp_url, queue.name) == 0
        assert process.poll() is None, "the worker died on a poison message"

        replay = subprocess.run([sys.executable, "-m", "shared.cli", "events", "replay-dlq", "accounts"], env=env,
                                cwd=config.ROOT, capture_output=True, text=True, timeout=60)
        assert replay.returncode == 0, replay.stderr
        assert "Replayed 2 message(s)" in replay.stdout
        late_id, late = user("tarde")
        publish(fault_amqp_url, [late])
        until(lambda: count(db, users, users.c.id == late_id) == 1, timeout=15)
        until(lambda: queue_depth(fault_amqp_url, queue.dlq) == 2, timeout=10)  # back, and no more
        letters = take_all(fault_amqp_url, queue.dlq)
        assert sorted(letters) == sorted([garbage[1], unacceptable[1]])
        assert count(db, db.tables.inbox) == 3  # the three users; the poison left no trace
        assert count(db, users) == 3
    finally:
        stop_gently(process)
        db.dispose()
