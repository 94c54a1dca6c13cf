"""A worker process killed with SIGKILL in the middle of a stream of events:
another one takes over and every event's effect is applied exactly once —
nothing lost, nothing doubled.

The events are handover requests: each makes the accounts worker publish one
`accounts.handover.completed` (an outbox row), an effect that is *not*
idempotent by itself — only the inbox stops a redelivered request from
reporting twice — so a double would show."""
from __future__ import annotations

import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from services.accounts.app import create_worker
from shared import config
from shared.migrations import upgrade
from tests.faults.helpers import (count, event, fresh_queue, handled, kill_hard, outbox_by_key, publish, queue_depth,
                                  start_worker_process, stop_gently, worker_env)
from tests.support.broker import Listener
from tests.support.wait import until

EVENTS = 400


def handover_requests(n: int) -> list[tuple[str, bytes]]:
    def request() -> dict:
        return {"handover_id": str(uuid.uuid4()), "from_user_id": str(uuid.uuid4()), "to_user_id": str(uuid.uuid4())}

    return [event("identity.user.handover_requested", request(), subject=None, source="gateway") for _ in range(n)]


def handover_ids(messages) -> list[str]:
    import json

    return [json.loads(body)["data"]["handover_id"] for _, body in messages]


@pytest.fixture
def accounts_db(servers):
    url = servers.new_database()
    upgrade("accounts", url)
    yield url
    servers.drop_database(url)


def test_worker_killed_mid_stream_loses_and_doubles_nothing(accounts_db, fault_amqp_url, tmp_path):
    settings = config.load("accounts", database_url=accounts_db, amqp_url=fault_amqp_url)
    probe = create_worker(settings)  # the real queue, its bindings and its limits; never started
    queue = fresh_queue(fault_amqp_url, probe.queue)
    db = probe.db
    completions = Listener(fault_amqp_url, ["accounts.handover.completed"])
    env = worker_env("accounts", accounts_db, fault_amqp_url, tmp_path)
    # Windows of 20, so that the kill lands between commits: with the default
    # prefetch a lingering consumer takes the 200 queued requests in a window or two.
    env["CADENA_CONSUMER_PREFETCH"] = "20"
    first = second = None
    try:
        first_half = handover_requests(EVENTS // 2)
        publish(fault_amqp_url, first_half)
        first = start_worker_process("accounts", env, tmp_path / "worker-1.log")
        until(lambda: handled(db, queue.name) >= 25, timeout=30, interval=0.01)
        kill_hard(first)  # mid-stream: a transaction open, deliveries unacked
        at_kill = handled(db, queue.name)
        assert 0 < at_kill < EVENTS // 2, f"the first worker was not killed mid-stream ({at_kill} handled)"

        second_half = handover_requests(EVENTS - EVENTS // 2)
        publish(fault_amqp_url, second_half)
        second = start_worker_process("accounts", env, tmp_path / "worker-2.log")
        until(lambda: handled(db, queue.name) == EVENTS, timeout=30)
        until(lambda: queue_depth(fault_amqp_url, queue.name) == 0, timeout=10)

        wanted = handover_ids(first_half + second_half)
        reported = outbox_by_key(db, "accounts.handover.completed")
        assert sorted(reported) == sorted(wanted), "a handover was lost or invented"
        assert set(reported.values()) == {1}, {k: v for k, v in reported.items() if v > 1}
        assert count(db, db.tables.inbox) == EVENTS
        assert queue_depth(fault_amqp_url, queue.dlq) == 0
        # The relay died too: what it had not confirmed is published again
        # (at least once), and nothing committed stays behind.
        outbox = db.tables.outbox
        until(lambda: count(db, outbox, outbox.c.published_at.is_(None)) == 0, timeout=20)
        until(lambda: {e["data"]["handover_id"] for e in completions.drain()} >= set(wanted), timeout=15)
        published = Counter(e["data"]["handover_id"] for e in completions.events)
        assert set(published) == set(wanted)
        with db.sessions() as session:
            assert session.scalar(select(outbox.c.id).where(outbox.c.routing_key != "accounts.handover.completed")
                                  .limit(1)) is None
    finally:
        for process in (first, second):
            if process is not None:
                stop_gently(process)
        completions.delete()
        db.dispose()
