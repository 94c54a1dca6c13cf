"""Field history (CONTRACTS §10): which fields of a record changed, from
what to what, when and by whom.

A change to a record is published through :func:`created`, :func:`updated`
or :func:`deleted`. ``updated`` puts the fields that really changed in the
event's data as ``changes`` (``{field: {"from": old, "to": new}}``, values
as the API shows the record: money as ``{amount, currency}``, times
RFC 3339). A service that keeps a field history of its records (its
database has a ``field_history`` table: accounts, opportunities, support)
also writes one entry per change in the same transaction, so the history
holds exactly the changes that committed. ``actor_id`` is the principal of
the request that made the change (null for jobs and event handlers).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData, String, Table, bindparam, insert, select

from shared.db import BigId, UTCDateTime, utcnow
from shared.http import Invalid, NotFound, decode_cursor, encode_cursor
from shared.observability import current_actor_id

# Bookkeeping every change moves: not a change of the record's own fields.
IGNORED = frozenset({"id", "version", "created_at", "updated_at", "changes", "actor_id"})
EMPTY = (None, "", [], {})  # what a new record's history does not list


def history_table(metadata: MetaData) -> Table:
    history = Table(
        "field_history",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("aggregate", String(40), nullable=False),  # account, contact, opportunity, case
        Column("record_id", String(36), nullable=False),
        Column("type", String(200), nullable=False),  # the event that published the change
        Column("event_id", String(36), nullable=True),
        Column("actor_id", String(36), nullable=True),
        Column("changes", JSON, nullable=False),
        Column("time", UTCDateTime, nullable=False, default=utcnow),
    )
    Index("ix_field_history_record", history.c.record_id, history.c.id)
    return history


def _plain(value: Any) -> Any:
    """A JSON value (what a client would read), whatever the representation held."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if type(value) is list and all(type(item) is str for item in value):  # tags, interests: as they are
        return list(value)
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def diff(before: Mapping | None, after: Mapping | None, ignore: frozenset[str] = IGNORED) -> dict[str, dict]:
    """The fields whose value differs between two representations of a
    record, in the order the record lists them. A field missing on one side
    counts as null; bookkeeping fields (``ignore``) are left out."""
    before, after = before or {}, after or {}
    changes: dict[str, dict] = {}
    for field in [*after, *(f for f in before if f not in after)]:
        if field in ignore:
            continue
        old, new = _plain(before.get(field)), _plain(after.get(field))
        if old != new:
            changes[field] = {"from": old, "to": new}
    return changes


def _publish(uow, routing_key: str, record_id: str | None, data: dict, changes: dict,
             actor_id: str | None = None) -> str:
    """Publish the event and keep its history entry; on Postgres both rows go in
    one statement (one round trip), else one INSERT each. Returns the event id."""
    table = uow.db.tables.history
    if table is None or record_id is None:
        return uow.publish(routing_key, record_id, data)
    row = uow.outbox_row(routing_key, record_id, data)
    entry = {"aggregate": routing_key.split(".")[1], "record_id": str(record_id), "type": routing_key,
             "event_id": row["event_id"], "actor_id": current_actor_id() or actor_id, "changes": changes,
             "time": utcnow()}
    if uow.db.is_postgres:
        uow.session.execute(_together(uow.db.tables.outbox, table), {
            **{f"o_{k}": v for k, v in row.items()}, **{f"h_{k}": v for k, v in entry.items()}})
    else:
        # The values as parameters of one statement per table, not .values():
        # a statement built with its values is a new cache key to compute each time.
        uow.session.execute(insert(uow.db.tables.outbox), row)
        uow.session.execute(insert(table), entry)
    return row["event_id"]


@lru_cache(maxsize=64)
def _together(outbox: Table, history: Table):
    """``WITH sent AS (INSERT INTO outbox …) INSERT INTO field_history …``: the
    outbox row and the history entry in one statement, built once per table
    pair (its values bound per call). The outbox's NOTIFY trigger fires as for
    an INSERT of its own."""
    sent = insert(outbox).values({c: bindparam(f"o_{c}") for c in OUTBOX_COLUMNS}).cte("sent")
    return insert(history).values({c: bindparam(f"h_{c}") for c in HISTORY_COLUMNS}).add_cte(sent)


OUTBOX_COLUMNS = ("event_id", "routing_key", "aggregate_id", "body", "created_at")
HISTORY_COLUMNS = ("aggregate", "record_id", "type", "event_id", "actor_id", "changes", "time")


def created_many(uow, routing_key: str, items: list[tuple[str, dict]], *, actor_id: str | None = None,
                 correlation_id: str | None = None) -> list[str]:
    """:func:`created` for a bulk write (an import): the events written at
    once, then their history entries (``shared.bulk_insert``: COPY on Postgres)."""
    from shared.bulk_insert import insert_rows

    event_ids = uow.publish_many(routing_key, items, correlation_id=correlation_id, actor_id=actor_id)
    table = uow.db.tables.history
    if table is not None and items:
        now, actor = utcnow(), current_actor_id() or actor_id
        insert_rows(uow.session, table, [
            {"aggregate": routing_key.split(".")[1], "record_id": str(record_id), "type": routing_key,
             "event_id": event_id, "actor_id": actor, "time": now,
             "changes": diff(None, {k: v for k, v in data.items() if v not in EMPTY})}
            for (record_id, data), event_id in zip(items, event_ids)])
    return event_ids


def created(uow, routing_key: str, record_id: str, data: dict) -> str:
    """Publish a new record; its history starts with every field it was given, from null."""
    return _publish(uow, routing_key, record_id, data, diff(None, {k: v for k, v in data.items() if v not in EMPTY}))


def updated(uow, routing_key: str, record_id: str | None, data: dict, *, before: Mapping,
            after: Mapping | None = None, actor_id: str | None = None) -> dict[str, dict]:
    """Publish a change with the fields that changed (``changes``) and keep it
    in the history. ``after`` is the record as it is now when the event's
    data is something else (a won deal's contract, a stage change's extra
    field); by default the data is the record."""
    changes = diff(before, data if after is None else after)
    extra = {"actor_id": actor_id} if actor_id and not current_actor_id() else {}
    _publish(uow, routing_key, record_id, {**data, **extra, "changes": changes}, changes, actor_id)
    return changes


def deleted(uow, routing_key: str, record_id: str, data: dict, deleted_at: datetime) -> str:
    """Publish a (soft) deletion; the history records when it happened."""
    return _publish(uow, routing_key, record_id, data, {"deleted_at": {"from": None, "to": deleted_at.isoformat()}})


def page(session, table: Table, record_id: str, *, limit: int, cursor: str | None) -> dict:
    """One page of a record's history, newest first (keyset on the entry id)."""
    stmt = select(table).where(table.c.record_id == str(record_id))
    if cursor:
        try:
            last_id = int(decode_cursor(cursor, arity=1)[0])
        except (TypeError, ValueError):
            raise Invalid("The cursor is not one this API returned.", errors={"cursor": ["Invalid cursor."]}) from None
        stmt = stmt.where(table.c.id < last_id)
    rows = session.execute(stmt.order_by(table.c.id.desc()).limit(limit + 1)).mappings().all()
    next_cursor = encode_cursor([rows[limit - 1]["id"]]) if len(rows) > limit else None
    items = [{"time": r["time"], "actor_id": r["actor_id"], "type": r["type"], "changes": r["changes"]}
             for r in rows[:limit]]
    return {"items": items, "next_cursor": next_cursor}


def of_record(session, model, kind: str, record_id, args: dict) -> dict:
    """``GET …/{id}/history``: 404 for a record that never existed; a deleted
    record keeps its history (its last entry is the deletion)."""
    if session.get(model, str(record_id)) is None:
        raise NotFound.of(kind, record_id)
    table = model.metadata.tables["field_history"]
    return page(session, table, record_id, limit=args["limit"], cursor=args.get("cursor"))
