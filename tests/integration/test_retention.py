"""Retention on the real Postgres: old published outbox rows and old inbox
ids go, in batches, without waiting on rows the relay holds."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, insert, select, text

from shared.db import utcnow
from shared.retention import PURGED, purge


def _fill(db, *, old_published: int, old_unpublished: int, recent: int, old_inbox: int, recent_inbox: int):
    outbox, inbox = db.tables.outbox, db.tables.inbox
    old = utcnow() - timedelta(days=10)
    rows = ([dict(published_at=old, created_at=old)] * old_published + [dict(published_at=None, created_at=old)]
            * old_unpublished + [dict(published_at=utcnow(), created_at=utcnow())] * recent)
    with db.engine.begin() as conn:
        conn.execute(insert(outbox), [dict(event_id=f"e{i}", routing_key="accounts.account.created", body=b"{}", **r)
                                      for i, r in enumerate(rows)])
        if old_inbox + recent_inbox:
            conn.execute(insert(inbox), [dict(consumer="q", event_id=f"i{i}", routing_key="k",
                                              received_at=old if i < old_inbox else utcnow())
                                         for i in range(old_inbox + recent_inbox)])


def _count(db, table, *where) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def test_purges_only_what_is_past_retention_in_batches(build):
    accounts = build("accounts")
    db = accounts.db
    _fill(db, old_published=2500, old_unpublished=3, recent=4, old_inbox=1200, recent_inbox=5)
    before = PURGED.labels("accounts", "outbox")._value.get()
    assert purge(db, 7, 7, batch=1000) == {"outbox": 2500, "inbox": 1200, "idempotency_keys": 0}
    assert _count(db, db.tables.outbox) == 7  # the unpublished ones wait for the relay, however old
    assert _count(db, db.tables.outbox, db.tables.outbox.c.published_at.is_(None)) == 3
    assert _count(db, db.tables.inbox) == 5
    assert PURGED.labels("accounts", "outbox")._value.get() - before == 2500
    assert purge(db, 7, 7) == {"outbox": 0, "inbox": 0, "idempotency_keys": 0}


def test_rows_locked_by_the_relay_are_skipped_not_waited_for(build):
    accounts = build("accounts")
    db = accounts.db
    _fill(db, old_published=10, old_unpublished=0, recent=0, old_inbox=0, recent_inbox=0)
    holder = db.engine.connect()
    tx = holder.begin()
    locked = holder.execute(text("SELECT id FROM outbox ORDER BY id LIMIT 1 FOR UPDATE")).scalar()
    done = threading.Event()
    result = {}

    def run():
        result.update(purge(db, 7, 7))
        done.set()

    threading.Thread(target=run, daemon=True).start()
    try:
        assert done.wait(10), "retention waited on a row the relay holds"
        assert result["outbox"] == 9
    finally:
        tx.rollback()
        holder.close()
    assert _count(db, db.tables.outbox, db.tables.outbox.c.id == locked) == 1
