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


def _purge_batch(db: Database, table, stamp, keys, cut, batch: int) -> int:
    """Delete up to ``batch`` rows stamped before ``cut``, oldest first;
    rows another transaction holds are skipped, never waited for."""
    oldest = select(*keys).where(stamp < cut).order_by(stamp).limit(batch)  # NULL stamps never qualify
    if db.is_postgres:
        oldest = oldest.with_for_update(skip_locked=True)
    with db.engine.begin() as conn:
        return conn.execute(delete(table).where(tuple_(*keys).in_(oldest))).rowcount


def purge(db: Database, outbox_days: float, inbox_days: float, *, batch: int = 1000,
          max_batches: int = 100) -> dict[str, int]:
    """Delete what is past retention, ``batch`` rows per transaction, at most
    ``max_batches`` per table per call (the next run carries on)."""
    now = utcnow()
    purged = {}
    outbox, inbox, keys = db.tables.outbox, db.tables.inbox, db.tables.idempotency
    steps = ((outbox, outbox_days, outbox.c.published_at, (outbox.c.id,)),
             (inbox, inbox_days, inbox.c.received_at, (inbox.c.consumer, inbox.c.event_id)),
             (keys, 1, keys.c.created_at, (keys.c.principal_id, keys.c.key)))  # a key answers for 24 h
    for table, days, stamp, key_columns in steps:
        total = 0
        for _ in range(max_batches):
            deleted = _purge_batch(db, table, stamp, key_columns, now - timedelta(days=days), batch)
            total += deleted
            if deleted < batch:
                break
        purged[table.name] = total
        if total:
            PURGED.labels(db.component, table.name).inc(total)
    if any(purged.values()):
        log.info("retention_purged", **purged)
    return purged
