"""Idempotent event handling: the event id goes into the inbox in the same
transaction as the handler's effect, so a redelivery has no second effect."""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Mapping, Sequence

from marshmallow import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from shared import events, tracing
from shared.bus import topic_matches
from shared.db import Database, dialect_of, utcnow
from shared.observability import EVENTS_CONSUMED, HANDLER_ERRORS, bind_request_id, get_logger, reset_request_id

log = get_logger("cadena.inbox")

Handler = Callable[[dict, object], None]

ACK, REQUEUE, REJECT = "ack", "requeue", "reject"
# Requeue once the database answers again: a delivery given back at once
# during an outage would come straight back and fail again, spending the
# queue's delivery limit in milliseconds and dead-lettering a good event.
WAIT_FOR_DATABASE = "wait-for-database"

# Errors that will fail the same way every time: dead-letter at once.
PERMANENT = (events.InvalidEvent, ValidationError, KeyError, TypeError, ValueError, LookupError)


class PermanentError(Exception):
    """Raise from a handler for an event that can never be handled."""


def merge_handlers(*tables: Mapping[str, Handler]) -> dict[str, Handler]:
    """One table from several (a service's reactions, one module per source);
    a routing key in two of them is a mistake, said at import."""
    merged: dict[str, Handler] = {}
    for table in tables:
        for key, handler in table.items():
            if key in merged:
                raise ValueError(f"two handlers for {key}")
            merged[key] = handler
    return merged


def check_handlers(component: str, handlers: Mapping[str, Handler], catalogue) -> None:
    """At a worker's start: every handler reacts to a declared event, and no
    declared event has two handlers (a catch-all "#" is the one fallback)."""
    for pattern in handlers:
        if not any(topic_matches(pattern, key) for key in catalogue.by_key):
            raise ValueError(f"{component} has a handler for {pattern}, which no event contract declares")
    for key in catalogue.by_key:
        matching = [p for p in handlers if p != "#" and topic_matches(p, key)]
        if len(matching) > 1:
            raise ValueError(f"{component} has {len(matching)} handlers for {key}: {matching}")


def find_handler(handlers: Mapping[str, Handler], routing_key: str) -> Handler | None:
    if routing_key in handlers:
        return handlers[routing_key]
    for pattern, handler in handlers.items():
        if ("*" in pattern or "#" in pattern) and _matches(pattern, routing_key):
            return handler
    return None


@lru_cache(maxsize=4096)  # asked of every event a consumer reads, for the same few keys and patterns
def _matches(pattern: str, routing_key: str) -> bool:
    return topic_matches(pattern, routing_key)


def record_receipt(uow, consumer: str, event: dict) -> bool:
    """Insert (consumer, event id); False if it was already there."""
    # RETURNING, not rowcount: drivers disagree on rowcount after ON CONFLICT.
    return uow.session.execute(_receipt_statement(uow.db), {
        "consumer": consumer, "event_id": event["id"], "routing_key": event["type"], "received_at": utcnow(),
    }).first() is not None


def _receipt_statement(db):
    """The receipt's INSERT, built once per inbox table (its values bound per
    event; several events make it an executemany)."""
    inbox = db.tables.inbox
    key = (db.component, db.is_postgres)  # one table may serve a SQLite and a Postgres database (tests)
    cached = _RECEIPT.get(key)
    if cached is None or cached[0] is not inbox:
        cached = _RECEIPT[key] = (inbox, dialect_of(db).insert(inbox).on_conflict_do_nothing(
            index_elements=[inbox.c.consumer, inbox.c.event_id]).returning(inbox.c.event_id))
    return cached[1]


_RECEIPT: dict[tuple, tuple] = {}


def record_receipts(uow, consumer: str, batch: Sequence[dict]) -> set[str]:
    """Insert (consumer, event id) for every event in one statement; the ids that were new."""
    if not batch:
        return set()
    now = utcnow()
    if uow.db.is_postgres:
        # One short statement over arrays: psycopg prepares it once, where a
        # multi-row VALUES is a new, long text to parse for every window.
        return set(uow.session.scalars(_RECEIPTS, {
            "consumer": consumer, "ids": [event["id"] for event in batch],
            "keys": [event["type"] for event in batch], "now": now}))
    rows = [{"consumer": consumer, "event_id": event["id"], "routing_key": event["type"], "received_at": now}
            for event in batch]
    return set(uow.session.scalars(_receipt_statement(uow.db), rows))


_RECEIPTS = text("""
INSERT INTO inbox (consumer, event_id, routing_key, received_at)
SELECT CAST(:consumer AS text), r.event_id, r.routing_key, CAST(:now AS timestamptz)
FROM unnest(CAST(:ids AS text[]), CAST(:keys AS text[])) AS r(event_id, routing_key)
ON CONFLICT (consumer, event_id) DO NOTHING
RETURNING event_id
""")


def handle_batch(db: Database, consumer: str, handlers: Mapping[str, Handler],
                 deliveries: Sequence[tuple[str, bytes]], catalogue=None) -> list[str]:
    """Run a window of deliveries in one transaction; return, per delivery, what
    to tell the broker.

    One multi-row INSERT records every receipt and says which events are new,
    their handlers run in delivery order, one COMMIT. If any handler fails the
    whole window is rolled back and handled again one delivery per transaction
    (``handle``), so a failing event is requeued or dead-lettered alone and the
    others are applied once, as if there had been no batch.
    """
    if len(deliveries) <= 1:
        return [handle(db, consumer, handlers, routing_key, body, catalogue) for routing_key, body in deliveries]
    outcomes: list[str | None] = [None] * len(deliveries)
    ready: list[tuple[int, dict, Handler]] = []
    for index, (routing_key, body) in enumerate(deliveries):
        try:
            event = events.decode(body)
        except events.InvalidEvent:
            event = None
        handler = find_handler(handlers, event["type"]) if event else None
        if handler is None or (catalogue is not None and catalogue.problems(event["type"], event["data"])):
            # Garbage, a broken contract or nothing to run: the single path logs, counts and answers it.
            outcomes[index] = handle(db, consumer, handlers, routing_key, body, catalogue)
        else:
            ready.append((index, event, handler))
    if not ready:
        return outcomes  # type: ignore[return-value]
    try:
        applied = _apply_window(db, consumer, ready)
    except Exception as exc:
        log.info("batch_retried_singly", consumer=consumer, size=len(ready), error=repr(exc)[:200])
        for index, _event, _handler in ready:
            outcomes[index] = handle(db, consumer, handlers, *deliveries[index], catalogue)
        return outcomes  # type: ignore[return-value]
    seen: set[str] = set()
    for index, event, _handler in ready:
        first = event["id"] in applied and event["id"] not in seen
        seen.add(event["id"])
        EVENTS_CONSUMED.labels(db.component, consumer, "handled" if first else "duplicate").inc()
        outcomes[index] = ACK
    return outcomes  # type: ignore[return-value]


def in_runs(many: Callable[[list[dict], object], None]) -> Callable[[Handler], Handler]:
    """Give a handler a form for a run of events: ``many(events, uow)`` must
    have the effect of the handler applied to each event in order (one
    statement sent for them all, say, instead of one per event). A window
    calls it for each run of consecutive new events that share the handler;
    a handler that reads what an earlier event wrote must not have one, nor
    one that publishes (the run is outside each event's trace context)."""
    def mark(handler: Handler) -> Handler:
        handler.many = many  # type: ignore[attr-defined]
        return handler
    return mark


def _apply_window(db: Database, consumer: str, ready: list[tuple[int, dict, Handler]]) -> set[str]:
    """One transaction for the window: the receipts, then each new event's
    handler in delivery order (a run of events whose handler has a ``many``
    form in one call); the ids applied (a failure raises)."""
    unique = list({event["id"]: event for _, event, _ in ready}.values())
    applied: set[str] = set()
    with db.uow() as uow:
        fresh = record_receipts(uow, consumer, unique)
        todo = []
        for _index, event, handler in ready:
            if event["id"] in fresh and event["id"] not in applied:
                applied.add(event["id"])
                todo.append((event, handler))
        for handler, run in _runs(todo):
            if len(run) > 1:
                handler.many(run, uow)  # type: ignore[attr-defined]
                continue
            token = bind_request_id(run[0].get("correlationid"))
            try:
                with tracing.consuming(run[0], consumer):
                    handler(run[0], uow)
            finally:
                reset_request_id(token)
        uow.commit()
    return applied


def _runs(todo: list[tuple[dict, Handler]]) -> list[tuple[Handler, list[dict]]]:
    """Consecutive events with the same handler, grouped where it has a
    ``many`` form (and no trace is recorded, which wants a span per event)."""
    runs: list[tuple[Handler, list[dict]]] = []
    grouping = not tracing.recording()
    for event, handler in todo:
        if grouping and runs and runs[-1][0] is handler and hasattr(handler, "many"):
            runs[-1][1].append(event)
        else:
            runs.append((handler, [event]))
    return runs


def handle(db: Database, consumer: str, handlers: Mapping[str, Handler], routing_key: str, body: bytes,
           catalogue=None) -> str:
    """Run one delivery; return what to tell the broker. With a
    ``catalogue`` (shared/contracts.py), an event whose data breaks its
    type's contract, or whose type has none, goes to the dead-letter queue."""
    try:
        event = events.decode(body)
    except events.InvalidEvent as exc:
        log.warning("invalid_event", consumer=consumer, routing_key=routing_key, error=str(exc)[:200])
        HANDLER_ERRORS.labels(db.component, routing_key, "invalid").inc()
        EVENTS_CONSUMED.labels(db.component, consumer, "rejected").inc()
        return REJECT
    problem = catalogue.problems(event["type"], event["data"]) if catalogue is not None else None
    if problem:
        log.warning("event_breaks_contract", consumer=consumer, event_id=event["id"], type=event["type"],
                    error=problem[:300])
        HANDLER_ERRORS.labels(db.component, event["type"], "contract").inc()
        EVENTS_CONSUMED.labels(db.component, consumer, "rejected").inc()
        return REJECT
    handler = find_handler(handlers, event["type"])
    if handler is None:
        # Our queue is bound only to what we handle, so this is a newer
        # replica's binding seen by an older one mid-rollout: give it back
        # (another replica may know it; past the delivery limit it waits in
        # the DLQ for `cadena events replay-dlq`) rather than lose it.
        log.warning("no_handler", consumer=consumer, type=event["type"], event_id=event["id"])
        EVENTS_CONSUMED.labels(db.component, consumer, "unhandled").inc()
        return REQUEUE
    token = bind_request_id(event.get("correlationid"))
    try:
        with db.uow() as uow:
            if not record_receipt(uow, consumer, event):
                EVENTS_CONSUMED.labels(db.component, consumer, "duplicate").inc()
                return ACK
            with tracing.consuming(event, consumer):
                handler(event, uow)
            uow.commit()
        EVENTS_CONSUMED.labels(db.component, consumer, "handled").inc()
        return ACK
    except Exception as exc:
        return _after_failure(db, consumer, event, exc)
    finally:
        reset_request_id(token)


def _database_lost(exc: Exception) -> bool:
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _after_failure(db: Database, consumer: str, event: dict, exc: Exception) -> str:
    """What to tell the broker about a handler that raised."""
    if _database_lost(exc):  # not the event's fault: give it back once the database answers
        log.warning("database_unavailable", consumer=consumer, event_id=event["id"], error=str(exc)[:200])
        EVENTS_CONSUMED.labels(db.component, consumer, "requeued").inc()
        return WAIT_FOR_DATABASE
    if isinstance(exc, (PermanentError, *PERMANENT)):
        log.warning("handler_rejected", consumer=consumer, event_id=event["id"], type=event["type"],
                    error=repr(exc)[:300])
        HANDLER_ERRORS.labels(db.component, event["type"], "permanent").inc()
        EVENTS_CONSUMED.labels(db.component, consumer, "rejected").inc()
        return REJECT
    # Transient or unknown: requeue; the queue's delivery limit sends a
    # message that keeps failing to the dead-letter queue.
    log.warning("handler_failed", consumer=consumer, event_id=event["id"], type=event["type"], error=repr(exc)[:300])
    HANDLER_ERRORS.labels(db.component, event["type"], "transient").inc()
    EVENTS_CONSUMED.labels(db.component, consumer, "requeued").inc()
    return REQUEUE


def wait_for_database(db: Database, stop, longest: float = 120.0) -> None:
    """Block until the database answers (or ``longest`` seconds, or a stop)."""
    import time

    deadline, pause = time.monotonic() + longest, 0.2
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            db.ping()
            return
        except Exception:
            stop.wait(pause)
            pause = min(pause * 2, 5.0)


def requeue_after_outage(db: Database, outcomes: list[str], stop) -> list[str]:
    """The answers to give the broker once a database outage is over."""
    if WAIT_FOR_DATABASE not in outcomes:
        return outcomes
    log.warning("consumer_waiting_for_database", component=db.component)
    wait_for_database(db, stop)
    return [REQUEUE if outcome == WAIT_FOR_DATABASE else outcome for outcome in outcomes]
