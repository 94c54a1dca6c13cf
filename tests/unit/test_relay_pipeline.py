"""The relay's pipeline, on SQLite with a scripted publisher: while the broker
confirms one batch the next is read, and it is sent only once the one
before was confirmed; a nack stops the pass, and what was not confirmed is
sent again, in order."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from shared.db import utcnow
from shared.outbox import Relay


class Broker:
    """A publisher that confirms everything but the messages named in
    ``nack`` (once each), and keeps a log of the calls."""

    def __init__(self, nack: set[str] = frozenset()):
        self.nack, self.log, self.published, self._sent, self._tag = set(nack), [], [], {}, 0

    def send(self, messages):
        tags = []
        for _key, _body, message_id in messages:
            self._tag += 1
            self._sent[self._tag] = message_id
            tags.append(self._tag)
        self.published.extend(m[2] for m in messages)
        self.log.append(("send", [m[2] for m in messages]))
        return tags

    def forget(self):
        self.log.append(("forget", None))
        self._sent.clear()

    def confirmed(self, tags):
        answers = []
        for tag in tags:
            message_id = self._sent.pop(tag)
            answers.append(message_id not in self.nack)
            self.nack.discard(message_id)
        self.log.append(("confirmed", answers))
        return answers


def pending(built, n: int) -> list[str]:
    ids = [f"e{i:02d}" for i in range(n)]
    with built.db.engine.begin() as conn:
        conn.execute(insert(built.db.tables.outbox), [
            {"event_id": i, "routing_key": "accounts.contact.created", "aggregate_id": "c1", "body": b"{}",
             "created_at": utcnow()} for i in ids])
    return ids


def unpublished(built) -> list[str]:
    outbox = built.db.tables.outbox
    with built.db.engine.connect() as conn:
        return list(conn.scalars(select(outbox.c.event_id).where(outbox.c.published_at.is_(None))
                                 .order_by(outbox.c.id)))


def test_batches_go_out_in_order_each_after_the_one_before_was_confirmed(accounts):
    ids = pending(accounts, 10)
    broker = Broker()
    assert Relay(accounts.db, "amqp://unused", batch=3).drain(broker) == 10
    assert broker.published == ids and unpublished(accounts) == []
    assert [step for step, _ in broker.log] == ["send", "confirmed"] * 4
    assert [len(m) for step, m in broker.log if step == "send"] == [3, 3, 3, 1]


def test_a_nack_stops_the_pass_and_the_rest_is_sent_again_from_there(accounts):
    ids = pending(accounts, 10)
    broker = Broker(nack={"e04"})
    relay = Relay(accounts.db, "amqp://unused", batch=3)
    assert relay.drain(broker) == 4  # e00–e03 confirmed; e04 and e05 not marked; e06… not even sent
    assert broker.published == ids[:6]
    assert unpublished(accounts) == ids[4:]
    assert relay.drain(broker) == 6
    assert broker.published == ids[:6] + ids[4:] and unpublished(accounts) == []


def test_a_pass_commits_after_its_last_batch_and_the_drain_goes_on(accounts, monkeypatch):
    ids = pending(accounts, 16)
    monkeypatch.setattr(Relay, "PASS", 2)
    relay, broker = Relay(accounts.db, "amqp://unused", batch=3), Broker()
    assert relay.publish_pending(broker) == 6  # a whole pass: two batches
    assert unpublished(accounts) == ids[6:]  # committed: the first pass is done whatever follows
    assert relay.drain(broker) == 10 and broker.published == ids  # past a whole pass (6), on to the rest (4)


def test_a_pass_that_fails_half_way_forgets_what_it_sent_and_sends_it_again(accounts, monkeypatch):
    ids = pending(accounts, 5)
    relay, broker = Relay(accounts.db, "amqp://unused", batch=3), Broker()
    real_mark = Relay._mark

    def database_gone(self, conn, done):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(Relay, "_mark", database_gone)
    with pytest.raises(ConnectionError):
        relay.drain(broker)
    assert ("forget", None) in broker.log and unpublished(accounts) == ids
    monkeypatch.setattr(Relay, "_mark", real_mark)
    assert relay.drain(broker) == 5 and unpublished(accounts) == []
    assert broker.published == ids + ids  # the failed pass had sent all five; all go out again
