"""Activities' scheduled work: follow-up reminders.

Exactly once per arming, with any number of workers: a worker claims due
rows with FOR UPDATE SKIP LOCKED (Postgres), marks each one sent with a
guarded UPDATE and writes the reminder_due event to the outbox in the same
transaction. A worker that was down catches up: everything due and not yet
sent is picked up on its first pass.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial

from sqlalchemy import select, update

from shared.db import utcnow
from shared.worker import Job

from services.activities.models import Activity

REMINDER_EVENTS = uuid.UUID("6f1d3c52-8a5e-4f7b-9a51-2c0d5e7b9e10")


def reminder_event_id(activity: Activity) -> str:
    """One id per arming (activity, version, remind_at): a redelivery is recognisable as the same reminder."""
    return str(uuid.uuid5(REMINDER_EVENTS, f"{activity.id}:{activity.version}:{activity.remind_at.isoformat()}"))


def reminder_data(activity: Activity) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    return {"activity_id": activity.id, "owner_id": activity.owner_id, "remind_at": iso(activity.remind_at),
            "subject": activity.subject, "type": activity.type, "starts_at": iso(activity.starts_at),
            "due_at": iso(activity.due_at), "account_id": activity.account_id}


def _publish_batch(db, now: datetime, batch: int) -> int:
    table = Activity.__table__
    with db.transaction() as uow:
        query = (select(Activity)
                 .where(Activity.remind_at <= now, Activity.reminder_sent_at.is_(None),
                        Activity.deleted_at.is_(None), Activity.status == "planned")
                 .order_by(Activity.remind_at, Activity.id).limit(batch))
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        claimed = list(uow.session.scalars(query))
        for activity in claimed:
            # Guarded: only the first to mark this arming publishes (SQLite has no row locks).
            # A Core UPDATE, so marking does not bump the activity's version.
            marked = uow.session.execute(
                update(table).where(table.c.id == activity.id, table.c.reminder_sent_at.is_(None),
                                    table.c.remind_at == activity.remind_at).values(reminder_sent_at=now))
            if marked.rowcount == 1:
                uow.publish("activities.activity.reminder_due", activity.id, reminder_data(activity),
                            event_id=reminder_event_id(activity))
        return len(claimed)


def publish_due_reminders(db, now: datetime | None = None, batch: int = 100, max_batches: int = 20) -> int:
    """Publish every reminder due by now; return how many rows were claimed."""
    total = 0
    for _ in range(max_batches):
        claimed = _publish_batch(db, now or utcnow(), batch)
        total += claimed
        if claimed < batch:
            break
    return total


def jobs(db, settings) -> list[Job]:
    batch = int(settings.extra.get("reminder_batch", 100))
    return [Job("activities.reminders", 1.0, partial(publish_due_reminders, db, batch=batch))]
