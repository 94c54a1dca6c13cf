"""Webhook deliveries on the gateway's database: owed when an event arrives
(:func:`fan_out_many`, in the consumer's transaction), claimed by a delivery
worker with a lease (:func:`claim`, so competing workers never send one
twice at once and a dead worker's claims come back), and settled after each
attempt (:func:`settle`): delivered, retried later, or given up — which
disables the webhook.

A delivery is ``pending`` until it is ``delivered``; ``failed`` when it kept
failing for the whole retry window; ``abandoned`` when its webhook was
disabled or deleted before it got through.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Mapping

from sqlalchemy import and_, func, or_, select, update

from shared.db import dialect_of, utcnow

from gateway.models import StoredEvent, Webhook, WebhookAttempt, WebhookDelivery
from gateway.topics import matches_any

PENDING, DELIVERED, FAILED, ABANDONED = "pending", "delivered", "failed", "abandoned"
LIVE = "live"
MAX_ERROR = 300


@dataclass(frozen=True)
class Schedule:
    """Exponential backoff with jitter, within a window from the first attempt."""

    base: float = 10.0
    cap: float = 6 * 3600.0
    window: float = 3 * 86400.0

    @classmethod
    def from_settings(cls, settings) -> "Schedule":
        return cls(settings.webhook_retry_base, settings.webhook_retry_max, settings.webhook_retry_window)

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1, 2, …):
        base·2^(attempt-1), at most ``cap``, spread ±20% so that endpoints
        that failed together are not retried together."""
        raw = min(self.cap, self.base * 2 ** min(attempt - 1, 60))
        return raw * (0.8 + 0.4 * rng())

    def next_attempt(self, attempt: int, first: datetime, now: datetime,
                     rng: Callable[[], float] = random.random) -> datetime | None:
        """When to try again, or None: the window is over. The last retry
        falls at the window's end, so an endpoint gets the whole of it."""
        deadline = first + timedelta(seconds=self.window)
        if now >= deadline:
            return None
        return min(now + timedelta(seconds=self.delay(attempt, rng)), deadline)


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code, or an error (timeout, refused …)."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        return f"HTTP {self.status_code}" if self.status_code is not None else (self.error or "failed")


def encode_body(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def fan_out_many(events: list[dict], uow) -> int:
    """Owe each event of a run to every enabled webhook whose patterns match
    (a redelivery owes nothing more): the webhooks read once, the debts
    written with one INSERT. Returns how many (webhook, event) pairs it
    owed, counting those a redelivery finds already owed."""
    hooks = uow.session.execute(select(Webhook.id, Webhook.events).where(
        Webhook.enabled.is_(True), Webhook.deleted_at.is_(None))).all()
    if not hooks:
        return 0
    now = utcnow()
    rows = []
    for event in events:
        wanted = [hook_id for hook_id, patterns in hooks if matches_any(patterns or [], event["type"])]
        if wanted:
            body = encode_body(event)
            rows.extend({"webhook_id": hook_id, "event_id": event["id"], "event_type": event["type"],
                         "origin": LIVE, "payload": body, "status": PENDING, "attempts": 0,
                         "next_attempt_at": now, "created_at": now} for hook_id in wanted)
    if rows:
        uow.session.execute(dialect_of(uow.db).insert(WebhookDelivery).values(rows).on_conflict_do_nothing(
            index_elements=["webhook_id", "event_id", "origin"]))
    return len(rows)


def _due(now: datetime):
    return and_(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now))


@dataclass(frozen=True)
class Prepared:
    """A leased delivery with everything its attempt needs."""

    delivery_id: int
    webhook_id: str
    url: str
    event_id: str
    event_type: str
    body: str | None  # None: the event is gone from the history (it cannot be sent)
    secrets: list[str]


def claim(db, *, slots: int, busy: Mapping[str, int], per_endpoint: int, lease: float,
          now: datetime | None = None) -> list[Prepared]:
    """Lease up to ``slots`` due deliveries, at most ``per_endpoint`` per
    webhook counting the ``busy`` ones this worker is sending: a slow or
    dead endpoint never holds more than its share of the senders. Returns
    them ready to send, oldest due first, read in the same transaction."""
    if slots <= 0:
        return []
    now = now or utcnow()
    D = WebhookDelivery
    rank = func.row_number().over(partition_by=D.webhook_id, order_by=(D.next_attempt_at, D.id)).label("rank")
    ranked = select(D.id, D.webhook_id, D.next_attempt_at, rank).join(Webhook, Webhook.id == D.webhook_id).where(
        _due(now), Webhook.enabled.is_(True), Webhook.deleted_at.is_(None)).subquery()
    with db.transaction() as uow:
        candidates = uow.session.execute(
            select(ranked.c.id, ranked.c.webhook_id).where(ranked.c.rank <= per_endpoint)
            .order_by(ranked.c.next_attempt_at, ranked.c.id).limit(slots + per_endpoint * len(busy))).all()
        taken, chosen = dict(busy), []
        for delivery_id, webhook_id in candidates:
            if len(chosen) < slots and taken.get(webhook_id, 0) < per_endpoint:
                taken[webhook_id] = taken.get(webhook_id, 0) + 1
                chosen.append(delivery_id)
        if not chosen:
            return []
        # Leased only if still due: a competing worker that got there first wins.
        leased = uow.session.scalars(
            update(D).where(D.id.in_(chosen), _due(now)).values(leased_until=now + timedelta(seconds=lease))
            .returning(D.id).execution_options(synchronize_session=False)).all()
        ready = _read(uow.session, leased, now)
    return sorted(ready, key=lambda p: chosen.index(p.delivery_id))


def _read(session, ids: list[int], now: datetime) -> list[Prepared]:
    if not ids:
        return []
    D, W = WebhookDelivery, Webhook
    rows = session.execute(select(D.id, D.webhook_id, D.event_id, D.event_type, D.payload, W.url, W.secret,
                                  W.previous_secret, W.previous_secret_expires_at)
                           .join(W, W.id == D.webhook_id).where(D.id.in_(ids))).all()
    replayed = [row.event_id for row in rows if row.payload is None]
    history = dict(session.execute(select(StoredEvent.event_id, StoredEvent.body).where(
        StoredEvent.event_id.in_(replayed))).all()) if replayed else {}
    ready = []
    for row in rows:
        body = row.payload if row.payload is not None else (
            encode_body(history[row.event_id]) if row.event_id in history else None)
        secrets = [row.secret]
        if row.previous_secret and row.previous_secret_expires_at and row.previous_secret_expires_at > now:
            secrets.append(row.previous_secret)
        ready.append(Prepared(row.id, row.webhook_id, row.url, row.event_id, row.event_type, body, secrets))
    return ready


def settle(db, prepared: Prepared, outcome: Outcome, schedule: Schedule, now: datetime | None = None,
           rng: Callable[[], float] = random.random) -> WebhookAttempt | None:
    found = settle_many(db, [(prepared, outcome, now or utcnow())], schedule, rng)
    return found[0] if found else None


def settle_many(db, results: list[tuple[Prepared, Outcome, datetime]], schedule: Schedule,
                rng: Callable[[], float] = random.random) -> list[WebhookAttempt]:
    """Record attempts and what follows from each, in one transaction."""
    if not results:
        return []
    with db.transaction() as uow:
        ids = [prepared.delivery_id for prepared, _outcome, _at in results]
        rows = {row.id: row for row in uow.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))}
        attempts = [_apply(uow, rows[prepared.delivery_id], outcome, at, schedule, rng)
                    for prepared, outcome, at in results if prepared.delivery_id in rows]
        uow.session.add_all(attempts)
    return attempts


def _apply(uow, delivery: WebhookDelivery, outcome: Outcome, now: datetime, schedule: Schedule,
           rng: Callable[[], float]) -> WebhookAttempt:
    """Delivered, tried again later, or given up (which disables the webhook)."""
    delivery.attempts += 1
    delivery.leased_until = None
    first = delivery.first_attempt_at or now
    delivery.first_attempt_at = first
    next_at = None
    if outcome.ok:
        delivery.status, delivery.payload = DELIVERED, None
    else:
        next_at = schedule.next_attempt(delivery.attempts, first, now, rng)
        if next_at is None:
            delivery.status = FAILED
            webhook = uow.session.get(Webhook, delivery.webhook_id)
            if webhook is not None and webhook.enabled:
                reason = f"Deliveries failed for {_span(now - first)} (last: {outcome.describe()})."
                disable(uow, webhook, reason[:500], now, failing_since=first)
        else:
            delivery.next_attempt_at = next_at
    return WebhookAttempt(webhook_id=delivery.webhook_id, delivery_id=delivery.id, event_id=delivery.event_id,
                          event_type=delivery.event_type, attempt=delivery.attempts, at=now,
                          status_code=outcome.status_code, error=outcome.error[:MAX_ERROR] if outcome.error else None,
                          duration_ms=outcome.duration_ms, next_retry_at=next_at)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / 3600:.1f} hours" if seconds >= 3600 else f"{seconds} seconds"


def abandon_pending(uow, webhook_id: str) -> None:
    uow.session.execute(update(WebhookDelivery).where(
        WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == PENDING).values(
        status=ABANDONED, payload=None, leased_until=None).execution_options(synchronize_session=False))


def disable(uow, webhook: Webhook, reason: str, now: datetime, failing_since: datetime | None = None) -> None:
    """Stop sending to a webhook that kept failing; say so on the bus."""
    webhook.enabled, webhook.disabled_at, webhook.disabled_reason = False, now, reason
    abandon_pending(uow, webhook.id)
    uow.publish("gateway.webhook.disabled", webhook.id, {
        "id": webhook.id, "url": webhook.url, "reason": reason, "disabled_at": now.isoformat(),
        "failing_since": failing_since.isoformat() if failing_since else None})
