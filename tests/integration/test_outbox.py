"""The transactional outbox on the real Postgres and RabbitMQ."""
from __future__ import annotations

import threading

import pika
import pytest
from sqlalchemy import func, select

from shared.outbox import Relay
from tests.support.auth import headers
from tests.support.broker import Listener
from tests.support.proxy import TcpProxy
from tests.support.wait import until

ADMIN = headers("admin")


@pytest.fixture
def accounts(build):
    return build("accounts")


@pytest.fixture
def listener(amqp_url):
    listening = Listener(amqp_url, ["accounts.#"])
    yield listening
    listening.delete()


def backlog(built) -> int:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))


def test_committed_change_is_published_exactly_once(accounts, listener):
    contact = accounts.client.post("/api/v1/contacts", json={"first_name": "Ana", "email": "ana@bodegas.es"},
                                   headers={**ADMIN, "X-Request-ID": "req-once"}).get_json()
    accounts.worker().start()
    until(lambda: listener.of_type("accounts.contact.created", contact["id"]))
    until(lambda: backlog(accounts) == 0)
    # A later event proves the relay went round again without resending the first.
    second = accounts.client.post("/api/v1/contacts", json={"first_name": "Luis"}, headers=ADMIN).get_json()
    until(lambda: listener.of_type("accounts.contact.created", second["id"]))
    events = listener.of_type("accounts.contact.created", contact["id"])
    assert len(events) == 1
    assert events[0]["correlationid"] == "req-once"
    assert events[0]["data"]["email"] == "ana@bodegas.es"


def test_rolled_back_change_publishes_nothing(accounts, listener):
    with accounts.db.uow() as uow:
        uow.publish("accounts.account.created", "ghost", {"id": "ghost"})
        # no commit: a bare unit of work rolls back on exit
    with pytest.raises(RuntimeError):
        with accounts.db.transaction() as uow:
            uow.publish("accounts.account.created", "ghost2", {"id": "ghost2"})
            raise RuntimeError("the use case failed after writing")
    bad = accounts.client.post("/api/v1/contacts", json={"first_name": "X", "reports_to_id":
                                                         "00000000-0000-0000-0000-000000000000"}, headers=ADMIN)
    assert bad.status_code == 422
    marker = accounts.client.post("/api/v1/accounts", json={"name": "Marker"}, headers=ADMIN).get_json()
    accounts.worker().start()
    until(lambda: listener.of_type("accounts.account.created", marker["id"]))
    assert [e["type"] for e in listener.drain()] == ["accounts.account.created"]
    with accounts.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(accounts.db.tables.outbox)) == 1


def test_writes_while_the_broker_is_unreachable_are_published_once_it_returns(accounts, listener, amqp_url):
    params = pika.URLParameters(amqp_url)
    proxy = TcpProxy(params.host, params.port)  # not started: the broker is unreachable
    stop = threading.Event()
    relay = Relay(accounts.db, proxy.url(amqp_url), batch=50, idle_poll=0.2, stop=stop)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        ids = [accounts.client.post("/api/v1/accounts", json={"name": f"Sin broker {i}"}, headers=ADMIN).get_json()["id"]
               for i in range(120)]
        assert backlog(accounts) == 120  # committed and waiting, nothing lost
        proxy.start()
        until(lambda: backlog(accounts) == 0, timeout=30)
        until(lambda: len(listener.of_type("accounts.account.created")) >= 120, timeout=15)
        received = [e["subject"] for e in listener.of_type("accounts.account.created")]
        assert sorted(received) == sorted(ids)  # each exactly once
        # Cut the broker again mid-stream, write more, restore: still exactly once.
        proxy.stop()
        more = [accounts.client.post("/api/v1/accounts", json={"name": f"Otra vez {i}"}, headers=ADMIN).get_json()["id"]
                for i in range(30)]
        proxy.start()
        until(lambda: backlog(accounts) == 0, timeout=30)
        until(lambda: len(listener.of_type("accounts.account.created")) >= 150, timeout=15)
        received = [e["subject"] for e in listener.of_type("accounts.account.created")]
        assert sorted(received) == sorted(ids + more)
    finally:
        stop.set()
        thread.join(timeout=10)
        proxy.stop()


def test_events_of_one_aggregate_leave_in_order(accounts, listener):
    account = accounts.client.post("/api/v1/accounts", json={"name": "Orden SL"}, headers=ADMIN).get_json()
    for i in range(20):
        accounts.client.patch(f"/api/v1/accounts/{account['id']}", json={"employees": i + 1}, headers=ADMIN)
    accounts.worker().start()
    until(lambda: len(listener.of_type("accounts.account.updated", account["id"])) == 20)
    employees = [e["data"]["employees"] for e in listener.of_type("accounts.account.updated", account["id"])]
    assert employees == list(range(1, 21))


def test_a_publisher_whose_channel_died_says_so_and_the_relay_makes_a_new_one(accounts, listener, amqp_url):
    """A channel closed under the relay (the broker cut it, a forced close) is a
    BrokerUnavailable, never an error the relay would retry forever on the same
    dead channel: committed events still leave."""
    from shared.bus import BrokerUnavailable, ConfirmingPublisher

    publisher = ConfirmingPublisher(amqp_url)
    try:
        publisher._channel.close()
        publisher._pump(lambda: publisher._channel.is_closed, 5)
        assert not publisher.usable
        with pytest.raises(BrokerUnavailable):
            publisher.publish_batch([("accounts.account.created", b"{}", "x")])
    finally:
        publisher.close()
    marker = accounts.client.post("/api/v1/accounts", json={"name": "Tras el canal"}, headers=ADMIN).get_json()
    relay = Relay(accounts.db, amqp_url)
    original = ConfirmingPublisher.__init__

    def born_dead(self, *args, **kwargs):  # the relay's first channel dies before its first batch
        original(self, *args, **kwargs)
        if not getattr(ConfirmingPublisher, "_killed_one", False):
            ConfirmingPublisher._killed_one = True
            self._channel.close()
            self._pump(lambda: self._channel.is_closed, 5)

    ConfirmingPublisher.__init__ = born_dead
    thread = threading.Thread(target=relay.run, daemon=True)
    try:
        thread.start()
        until(lambda: listener.of_type("accounts.account.created", marker["id"]), timeout=30)
    finally:
        relay.stop.set()
        thread.join(10)
        ConfirmingPublisher.__init__ = original
        ConfirmingPublisher._killed_one = False


def test_an_event_and_its_history_entry_go_in_one_statement_and_wake_the_relay(accounts):
    """On Postgres history.created/updated/deleted write the outbox row and the
    history entry with one statement; both rows are there, under one event id,
    and the outbox trigger's NOTIFY still fires at commit."""
    import psycopg
    from sqlalchemy import event

    from shared.db import notify_channel

    url = accounts.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    listening = psycopg.connect(url, autocommit=True)
    listening.execute(f"LISTEN {notify_channel('accounts')}")
    statements: list[str] = []
    record = lambda *args: statements.append(args[2])  # noqa: E731 (conn, cursor, statement, …)
    event.listen(accounts.db.engine, "before_cursor_execute", record)
    try:
        created = accounts.client.post("/api/v1/contacts", json={"first_name": "Ana", "email": "ana@uno.es"},
                                       headers=ADMIN).get_json()
        changed = accounts.client.patch(f"/api/v1/contacts/{created['id']}", json={"title": "Compras"},
                                        headers=ADMIN)
        assert changed.status_code == 200
    finally:
        event.remove(accounts.db.engine, "before_cursor_execute", record)
    writes = [s for s in statements if "outbox" in s or "field_history" in s]
    assert len(writes) == 2 and all(s.lstrip().startswith("WITH sent AS") for s in writes), writes
    assert [n.channel for n in listening.notifies(timeout=5, stop_after=2)] == [notify_channel("accounts")] * 2
    listening.close()
    outbox, history = accounts.db.tables.outbox, accounts.db.tables.history
    with accounts.db.sessions() as session:
        sent = session.execute(select(outbox.c.event_id, outbox.c.routing_key).order_by(outbox.c.id)).all()
        kept = session.execute(select(history.c.event_id, history.c.type, history.c.changes)
                               .where(history.c.record_id == created["id"]).order_by(history.c.id)).all()
    assert [(r.event_id, r.routing_key) for r in sent] == [(k.event_id, k.type) for k in kept]
    assert [k.type for k in kept] == ["accounts.contact.created", "accounts.contact.updated"]
    assert kept[1].changes == {"title": {"from": None, "to": "Compras"}}
