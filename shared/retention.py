"""Retention (CONTRACTS §7): published outbox rows and inbox ids older than
the configured days are deleted by the worker, a small batch per
transaction, so neither the relay nor the consumers wait on it. Rows the
relay holds are skipped (SKIP LOCKED), never waited for. The event history
of every customer is kept elsewhere, for good; these two tables only serve
delivery and de-duplication.
"""
from __future__ import annotations

from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import delete, select, tuple_

from shared.db import Database, utcnow
from shared.observability import get_logger

log = get_logger("cadena.retention")

PURGED = Counter("cadena_retention_purged", "Rows deleted by retention", ["component", "table"])


def _purge_outbox(db: Database, cut, batch: int) -> int:
    outbox = db.tables.outbox
    oldest = (select(outbox.c.id).where(outbox.c.published_at.is_not(None), outbox.c.published_at < cut)
              .order_by(outbox.c.published_at).limit(batch))
    if db.is_postgres:
        oldest = oldest.with_for_update(skip_locked=True)
    with db.engine.begin() as conn:
        return conn.execute(delete(outbox).where(outbox.c.id.in_(oldest))).rowcount


def _purge_inbox(db: Database, cut, batch: int) -> int:
    inbox = db.tables.inbox
    oldest = (select(inbox.c.consumer, inbox.c.event_id).where(inbox.c.received_at < cut)
              .order_by(inbox.c.received_at).limit(batch))
    if db.is_postgres:
        oldest = oldest.with_for_update(skip_locked=True)
    with db.engine.begin() as conn:
        return conn.execute(delete(inbox).where(tuple_(inbox.c.consumer, inbox.c.event_id).in_(oldest))).rowcount


def _purge_idempotency(db: Database, cut, batch: int) -> int:
    keys = db.tables.idempotency
    oldest = (select(keys.c.principal_id, keys.c.key).where(keys.c.created_at < cut)
              .order_by(keys.c.created_at).limit(batch))
    with db.engine.begin() as conn:
        return conn.execute(delete(keys).where(tuple_(keys.c.principal_id, keys.c.key).in_(oldest))).rowcount


def purge(db: Database, outbox_days: float, inbox_days: float, *, batch: int = 1000,
          max_batches: int = 100) -> dict[str, int]:
    """Delete what is past retention, ``batch`` rows per transaction, at most
    ``max_batches`` per table per call (the next run carries on)."""
    now = utcnow()
    purged = {}
    steps = (("outbox", outbox_days, _purge_outbox), ("inbox", inbox_days, _purge_inbox),
             ("idempotency_keys", 1, _purge_idempotency))  # a key answers for 24 h
    for table, days, step in steps:
        total = 0
        for _ in range(max_batches):
            deleted = step(db, now - timedelta(days=days), batch)
            total += deleted
            if deleted < batch:
                break
        purged[table] = total
        if total:
            PURGED.labels(db.component, table).inc(total)
    if any(purged.values()):
        log.info("retention_purged", **purged)
    return purged
