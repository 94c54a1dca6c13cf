"""What every consumer of ``accounts.<kind>.merged`` does with it
(CONTRACTS §9, "Merge"; docs/merge.md): read who survived, and re-point the
records it owns that named a merged id, each publishing its normal
``.updated`` event (third parties stay in sync; nobody reacts to those by
merging again, so there is no loop).

A second run finds nothing left to re-point and publishes nothing: the
handlers are safe to redeliver.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select

from shared import history


def merged_ids(event: dict) -> tuple[str, list[str]]:
    """(survivor id, merged ids) of an ``accounts.<kind>.merged`` event."""
    data = event["data"]
    return str(data["survivor_id"]), [str(i) for i in data["merged_ids"]]


def repoint(uow, model, column, survivor: str, merged: list[str], routing_key: str,
            data: Callable[[object], dict], *, order=None) -> int:
    """Every live ``model`` whose ``column`` names a merged id names the
    survivor; each publishes ``routing_key`` with ``data(record)``. Rows are
    locked in one order, so a user's edit of the same record waits or retries."""
    stmt = (select(model).where(column.in_(merged), model.deleted_at.is_(None))
            .order_by(order if order is not None else model.id).execution_options(populate_existing=True))
    if uow.db.is_postgres:
        stmt = stmt.with_for_update(of=model)
    records = uow.session.scalars(stmt).all()
    for record in records:
        before = data(record)
        setattr(record, column.key, survivor)
        uow.session.flush()
        history.updated(uow, routing_key, record.id, data(record), before=before)
    return len(records)
