"""SLA breaches: the worker's job publishes support.case.sla_breached once
per case and target, with any number of workers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from shared.db import Database, utcnow

from services.support import rules
from services.support.models import Case
from services.support.service import _breach_data, log

_TARGETS = {
    # target: (due column, breach marker, what else stops the clock)
    "first_response": (Case.first_response_due_at, Case.first_response_breached_at, Case.first_responded_at),
    "resolution": (Case.resolution_due_at, Case.resolution_breached_at, None),
}


def publish_breaches(db: Database, now: datetime | None = None, batch: int = 200) -> int:
    """Publish support.case.sla_breached once per case and target whose due
    time has passed with the clock still running. Safe with several workers:
    rows are claimed with SKIP LOCKED and marked with a compare-and-set in the
    same transaction as the event, so a restart or a second worker never
    publishes a breach twice."""
    now = now or utcnow()
    published = 0
    for target, (due, marker, stopped) in _TARGETS.items():
        while True:
            with db.transaction() as uow:
                stmt = (select(Case.id, Case.account_id, Case.number, Case.priority, Case.assignee_id, due)
                        .where(Case.deleted_at.is_(None), Case.status.in_(rules.OPEN_STATUSES),
                               marker.is_(None), due <= now)
                        .order_by(due).limit(batch))
                if stopped is not None:
                    stmt = stmt.where(stopped.is_(None))
                if db.is_postgres:
                    stmt = stmt.with_for_update(skip_locked=True)
                rows = uow.session.execute(stmt).all()
                for row in rows:
                    claimed = uow.session.execute(
                        update(Case.__table__).where(Case.__table__.c.id == row.id, marker.is_(None))
                        .values({marker.key: now}))
                    if claimed.rowcount != 1:
                        continue
                    uow.publish("support.case.sla_breached", row.id, _breach_data(
                        row.id, row.account_id, target, row[5], row.number, row.priority, row.assignee_id, now))
                    published += 1
            if len(rows) < batch:
                break
    if published:
        log.info("sla_breaches_published", count=published)
    return published
