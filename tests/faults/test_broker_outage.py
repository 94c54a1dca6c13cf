"""The broker is unreachable for a while during a stream of writes: every
write still succeeds, and every committed event is published exactly once
after the broker returns — for every service of this build, each written
through its own HTTP API and published by its own worker."""
from __future__ import annotations

from collections import Counter

import pika
import pytest
from sqlalchemy import select

from tests.faults.helpers import WRITERS, backlog, create, present
from tests.support.broker import Listener
from tests.support.proxy import TcpProxy
from tests.support.wait import until

SERVICES = present()
SMOKE = ("accounts", "support")  # the CI subset; the others are marked slow


def committed_event_ids(db) -> list[str]:
    outbox = db.tables.outbox
    with db.sessions() as session:
        return list(session.scalars(select(outbox.c.event_id).order_by(outbox.c.id)))


@pytest.mark.parametrize("service", [pytest.param(s, marks=() if s in SMOKE else pytest.mark.slow)
                                     for s in SERVICES])
def test_writes_during_a_broker_outage_are_published_exactly_once(service, fault_build, fault_amqp_url):
    params = pika.URLParameters(fault_amqp_url)
    proxy = TcpProxy(params.host, params.port).start()
    writer = WRITERS[service]
    built = fault_build(service, amqp_url=proxy.url(fault_amqp_url))
    extra = writer.prepare(built)
    listener = Listener(fault_amqp_url, [f"{service}.#"])
    worker = built.worker()
    worker.start()
    ids: list[str] = []

    def write(n: int) -> None:
        ids.extend(create(built, writer, len(ids), extra)["id"] for _ in range(n))

    try:
        write(15)
        until(lambda: backlog(built.db) == 0, timeout=20)  # flowing; nothing in flight when we cut
        proxy.stop()  # the broker is gone: live connections drop, new ones are refused
        write(30)
        assert backlog(built.db) >= 30  # committed and waiting; the writes did not notice
        write(15)
        assert backlog(built.db) >= 45
        proxy.start()
        write(10)
        until(lambda: backlog(built.db) == 0, timeout=30)
        expected = committed_event_ids(built.db)
        until(lambda: set(e["id"] for e in listener.drain()) >= set(expected), timeout=15)
        received = Counter(e["id"] for e in listener.events)
        assert sorted(received) == sorted(expected)
        assert set(received.values()) == {1}, {k: v for k, v in received.items() if v > 1}
        subjects = Counter(e["subject"] for e in listener.events if e["type"] == writer.created)
        assert sorted(subjects) == sorted(ids) and set(subjects.values()) == {1}
    finally:
        worker.stop.set()
        proxy.stop()
        listener.delete()
