"""The event history: every CloudEvent that crosses the bus, kept for good
in the gateway's database (CONTRACTS §10), with the customer it concerns.
The gateway's worker consumes every routing key; :func:`record` is its
handler. The customer timeline (gateway/timeline.py) reads it too."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite

from shared.db import dialect_of
from shared.http import keyset_page

from gateway.models import StoredEvent
from gateway.topics import sql_match

# Roles that read every event; the others read the events that concern a
# customer, which is what the timeline shows everyone (docs/security.md).
READ_ALL = frozenset({"admin", "manager"})


def account_of(event: dict) -> str | None:
    """The customer an event concerns: the account itself, or the account a
    contact, deal, activity, case or campaign response belongs to."""
    data = event.get("data") or {}
    if event["type"].startswith("accounts.account."):
        return event.get("subject") or data.get("id")
    if data.get("account_id"):
        return str(data["account_id"])
    account = data.get("account")
    if isinstance(account, dict) and account.get("id"):
        return str(account["id"])
    return None


def event_time(event: dict) -> datetime:
    return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))


def record(event: dict, uow) -> None:
    """Keep an event (a redelivery changes nothing)."""
    record_many([event], uow)


_KEEP = {dialect: dialect.insert(StoredEvent.__table__).on_conflict_do_nothing(index_elements=["event_id"])
         for dialect in (postgresql, sqlite)}


def record_many(events: list[dict], uow) -> None:
    """Keep several events (one statement executed for them all)."""
    uow.session.execute(_KEEP[dialect_of(uow.db)], [
        {"event_id": event["id"], "type": event["type"], "subject": event.get("subject"),
         "account_id": account_of(event), "time": event_time(event), "body": event} for event in events])


@dataclass(frozen=True)
class Query:
    """What a reader asked for; every field narrows the events."""

    type: str | None = None  # an AMQP topic pattern
    subject: str | None = None
    since: datetime | None = None
    account_id: str | None = None
    account_ids: frozenset[str] | None = None  # a customer and the accounts merged into it
    customers_only: bool = False  # only events that concern a customer

    def statement(self) -> Select:
        stmt = select(StoredEvent)
        if self.type:
            stmt = stmt.where(sql_match(StoredEvent.type, self.type))
        if self.subject:
            stmt = stmt.where(StoredEvent.subject == self.subject)
        if self.since is not None:
            stmt = stmt.where(StoredEvent.time >= self.since)
        if self.account_ids:
            ids = sorted(self.account_ids)
            stmt = stmt.where(StoredEvent.account_id.in_(ids) if len(ids) > 1 else StoredEvent.account_id == ids[0])
        elif self.account_id is not None:
            stmt = stmt.where(StoredEvent.account_id == self.account_id)
        elif self.customers_only:
            stmt = stmt.where(StoredEvent.account_id.is_not(None))
        return stmt


def page(session, query: Query, *, limit: int, cursor: str | None, newest_first: bool = False):
    """One keyset page of stored events, oldest first (by event time, then id)."""
    return keyset_page(session, query.statement(), StoredEvent.time, StoredEvent.event_id, limit=limit,
                       cursor=cursor, descending=newest_first)


def page_of_events(session, query: Query, *, limit: int, cursor: str | None):
    rows, next_cursor = page(session, query, limit=limit, cursor=cursor)
    return [row.body for row in rows], next_cursor
