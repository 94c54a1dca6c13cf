"""Idempotent event handling: the event id goes into the inbox in the same
transaction as the handler's effect, so a redelivery has no second effect."""
from __future__ import annotations

from typing import Callable, Mapping

from marshmallow import ValidationError
from sqlalchemy.dialects import postgresql, sqlite

from shared import events
from shared.bus import topic_matches
from shared.db import Database, utcnow
from shared.observability import EVENTS_CONSUMED, HANDLER_ERRORS, bind_request_id, get_logger, reset_request_id

log = get_logger("cadena.inbox")

Handler = Callable[[dict, object], None]

ACK, REQUEUE, REJECT = "ack", "requeue", "reject"

# Errors that will fail the same way every time: dead-letter at once.
PERMANENT = (events.InvalidEvent, ValidationError, KeyError, TypeError, ValueError, LookupError)


class PermanentError(Exception):
    """Raise from a handler for an event that can never be handled."""


def find_handler(handlers: Mapping[str, Handler], routing_key: str) -> Handler | None:
    if routing_key in handlers:
        return handlers[routing_key]
    for pattern, handler in handlers.items():
        if ("*" in pattern or "#" in pattern) and topic_matches(pattern, routing_key):
            return handler
    return None


def record_receipt(uow, consumer: str, event: dict) -> bool:
    """Insert (consumer, event id); False if it was already there."""
    inbox = uow.db.tables.inbox
    dialect = postgresql if uow.db.is_postgres else sqlite
    stmt = dialect.insert(inbox).values(
        consumer=consumer, event_id=event["id"], routing_key=event["type"], received_at=utcnow()
    ).on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id]).returning(inbox.c.event_id)
    # RETURNING, not rowcount: drivers disagree on rowcount after ON CONFLICT.
    return uow.session.execute(stmt).first() is not None


def handle(db: Database, consumer: str, handlers: Mapping[str, Handler], routing_key: str, body: bytes) -> str:
    """Run one delivery; return what to tell the broker."""
    try:
        event = events.decode(body)
    except events.InvalidEvent as exc:
        log.warning("invalid_event", consumer=consumer, routing_key=routing_key, error=str(exc)[:200])
        HANDLER_ERRORS.labels(db.component, routing_key, "invalid").inc()
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
            handler(event, uow)
            uow.commit()
        EVENTS_CONSUMED.labels(db.component, consumer, "handled").inc()
        return ACK
    except (PermanentError, *PERMANENT) as exc:
        log.warning("handler_rejected", consumer=consumer, event_id=event["id"], type=event["type"],
                    error=repr(exc)[:300])
        HANDLER_ERRORS.labels(db.component, event["type"], "permanent").inc()
        EVENTS_CONSUMED.labels(db.component, consumer, "rejected").inc()
        return REJECT
    except Exception as exc:
        # Transient or unknown: requeue; the queue's delivery limit sends a
        # message that keeps failing to the dead-letter queue.
        log.warning("handler_failed", consumer=consumer, event_id=event["id"], type=event["type"],
                    error=repr(exc)[:300])
        HANDLER_ERRORS.labels(db.component, event["type"], "transient").inc()
        EVENTS_CONSUMED.labels(db.component, consumer, "requeued").inc()
        return REQUEUE
    finally:
        reset_request_id(token)
