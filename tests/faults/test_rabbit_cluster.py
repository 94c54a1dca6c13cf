"""A real three-node RabbitMQ cluster losing a node under load: the relay and
the consumers are given every node (CADENA_AMQP_URL, comma-separated); one
node is SIGKILLed mid-load; publishing and consuming resume on the others,
nothing is lost or applied twice, and the killed node rejoins."""
from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select

from tests.faults.helpers import ADMIN, count, handled, queue_depth
from tests.support import rabbit_cluster
from tests.support.wait import until

pytestmark = pytest.mark.slow
CONTACTS = 400


@pytest.fixture
def cluster(tmp_path_factory):
    why = rabbit_cluster.available()
    if why:
        pytest.skip(f"a second RabbitMQ node cannot start here: {why}")
    running = rabbit_cluster.start_cluster(tmp_path_factory.mktemp("rabbit"))
    yield running
    running.stop()


def test_losing_a_node_loses_nothing(cluster, build):
    accounts = build("accounts", amqp_url=cluster.url, gateway_url="http://127.0.0.1:1")
    support = build("support", amqp_url=cluster.url, gateway_url="http://127.0.0.1:1")
    workers = [accounts.worker(), support.worker()]
    for worker in workers:
        worker.start()
    queue = support.worker().queue.name

    def consuming() -> bool:
        try:
            return queue_depth(cluster.url, queue) == 0
        except Exception:  # not declared yet: the consumer is still connecting
            return False

    until(consuming, timeout=60, interval=0.5)
    listed = json.loads(cluster.ctl(cluster.nodes[1], "list_queues", "-q", "name", "members", "--formatter", "json"))
    members = {q["name"]: len(q["members"]) for q in listed}
    assert members and all(n == 3 for n in members.values()), members  # every queue on every node
    created, errors = [], []

    def load():
        for i in range(CONTACTS):
            reply = accounts.client.post("/api/v1/contacts", json={"first_name": f"N{i}", "email": f"n{i}@nodo.es"},
                                         headers=ADMIN)
            (created if reply.status_code == 201 else errors).append(reply.status_code)
            time.sleep(0.01)

    writer = threading.Thread(target=load)
    writer.start()
    until(lambda: len(created) >= CONTACTS // 3, timeout=60)
    victim = cluster.nodes[0]  # the first node: the queues were declared there
    cluster.kill(victim)
    killed_at = len(created)
    writer.join()
    assert not errors and len(created) == CONTACTS

    def caught_up() -> bool:
        return handled(support.db, queue) >= CONTACTS

    until(lambda: count(accounts.db, accounts.db.tables.outbox, accounts.db.tables.outbox.c.published_at.is_(None))
          == 0, timeout=120)
    until(caught_up, timeout=120)
    inbox = support.db.tables.inbox
    with support.db.engine.connect() as conn:
        per_event = conn.execute(select(inbox.c.event_id, func.count()).where(inbox.c.consumer == queue)
                                 .group_by(inbox.c.event_id)).all()
    assert len(per_event) == CONTACTS and all(n == 1 for _, n in per_event)
    replica = support.db.metadata.tables["contact_replica"]
    assert count(support.db, replica) == CONTACTS  # every effect, once
    assert queue_depth(cluster.url, f"{queue}.dlq") == 0
    for worker in workers:
        worker.stop.set()

    cluster.start(victim)  # it rejoins the cluster it left
    until(lambda: len(cluster.running_nodes(cluster.nodes[1])) == 3, timeout=60)
    print(f"\ncluster: node {victim.name} killed after {killed_at} of {CONTACTS} creates; all {CONTACTS} events "
          f"published and consumed once; replicas per queue {members}")
