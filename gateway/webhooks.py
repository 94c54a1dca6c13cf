"""Webhooks, the use cases (admin only; CONTRACTS §10): endpoints with the
event patterns they want and a secret that signs what they get; the
attempts made; replaying the history to one; rotating its secret. Sending
is gateway/delivery.py and gateway/delivery_worker.py."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, literal, or_, select, update

from shared.auth import Principal
from shared.db import UTCDateTime, new_id, utcnow
from shared.http import Conflict, Invalid, NotFound, ensure_version, keyset_page

from gateway import delivery, signing
from gateway.models import StoredEvent, Webhook, WebhookAttempt, WebhookDelivery
from gateway.ssrf import Refused, UrlGuard
from gateway.topics import sql_match


def webhook_out(hook: Webhook, secret: str | None = None) -> dict:
    body = {"id": hook.id, "version": hook.version, "created_at": hook.created_at, "updated_at": hook.updated_at,
            "url": hook.url, "events": hook.events, "description": hook.description, "enabled": hook.enabled,
            "disabled_at": hook.disabled_at, "disabled_reason": hook.disabled_reason,
            "previous_secret_expires_at": hook.previous_secret_expires_at}
    if secret is not None:
        body["secret"] = secret
    return body


def check_url(guard: UrlGuard, url: str) -> None:
    """422 for a destination a webhook may not have (resolves the host: call
    it before the transaction opens)."""
    try:
        guard.check(url)
    except Refused as exc:
        raise Invalid("The webhook's URL is not one Cadena may send to.", errors={"url": [str(exc)]}) from None


def _patterns(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))


def create_webhook(uow, actor: Principal, data: dict) -> tuple[Webhook, str]:
    secret = signing.new_secret()
    hook = Webhook(url=data["url"], events=_patterns(data["events"]), description=data.get("description"),
                   secret=secret, enabled=data.get("enabled", True), created_by=actor.id)
    if not hook.enabled:
        hook.disabled_at, hook.disabled_reason = utcnow(), "Created disabled."
    uow.session.add(hook)
    uow.session.flush()
    return hook, secret


def get_webhook(session, webhook_id) -> Webhook:
    hook = session.get(Webhook, str(webhook_id))
    if hook is None or hook.deleted_at is not None:
        raise NotFound.of("webhook", webhook_id)
    return hook


def list_webhooks(session, args: dict):
    stmt = select(Webhook).where(Webhook.deleted_at.is_(None))
    if args.get("enabled") is not None:
        stmt = stmt.where(Webhook.enabled.is_(args["enabled"]))
    rows, cursor = keyset_page(session, stmt, Webhook.created_at, Webhook.id, limit=args["limit"],
                               cursor=args.get("cursor"))
    return [webhook_out(h) for h in rows], cursor


def update_webhook(uow, webhook_id, changes: dict, expected: set[str] | None) -> Webhook:
    hook = get_webhook(uow.session, webhook_id)
    ensure_version(hook.version, expected)
    for name in ("url", "description"):
        if name in changes:
            setattr(hook, name, changes[name])
    if "events" in changes:
        hook.events = _patterns(changes["events"])
    if changes.get("enabled") is True and not hook.enabled:
        hook.enabled, hook.disabled_at, hook.disabled_reason = True, None, None
        # What waited while it was paused goes now, with a fresh retry window.
        uow.session.execute(update(WebhookDelivery).where(
            WebhookDelivery.webhook_id == hook.id, WebhookDelivery.status == delivery.PENDING).values(
            first_attempt_at=None, next_attempt_at=utcnow()).execution_options(synchronize_session=False))
    elif changes.get("enabled") is False and hook.enabled:
        hook.enabled, hook.disabled_at, hook.disabled_reason = False, utcnow(), "Paused by an admin."
    uow.session.flush()
    return hook


def delete_webhook(uow, webhook_id) -> None:
    hook = get_webhook(uow.session, webhook_id)
    hook.deleted_at, hook.enabled = utcnow(), False
    delivery.abandon_pending(uow, hook.id)
    uow.publish("gateway.webhook.deleted", hook.id, {"id": hook.id, "url": hook.url})


def rotate_secret(uow, webhook_id, now: datetime | None = None) -> dict:
    """A new secret; the one it replaces signs too for 24 hours (a secret
    rotated out earlier than that stops signing now)."""
    now = now or utcnow()
    hook = get_webhook(uow.session, webhook_id)
    secret = signing.new_secret()
    hook.previous_secret, hook.previous_secret_expires_at = hook.secret, now + signing.OVERLAP
    hook.secret = secret
    uow.session.flush()
    return {"id": hook.id, "secret": secret, "previous_secret_expires_at": hook.previous_secret_expires_at}


def replay(uow, webhook_id, since: datetime, now: datetime | None = None) -> dict:
    """Owe the webhook again every event of the history at or after ``since``
    that its patterns match, oldest first (one statement, however many)."""
    now = now or utcnow()
    hook = get_webhook(uow.session, webhook_id)
    if not hook.enabled:
        raise Conflict("The webhook is disabled: enable it (PATCH with enabled: true), then replay.")
    replay_id = new_id()
    events = select(literal(hook.id), StoredEvent.event_id, StoredEvent.type, literal(replay_id),
                    literal(delivery.PENDING), literal(0), literal(now, UTCDateTime),
                    literal(now, UTCDateTime)).where(
        StoredEvent.time >= since, or_(*[sql_match(StoredEvent.type, p) for p in hook.events])).order_by(
        StoredEvent.time, StoredEvent.event_id)
    uow.session.execute(insert(WebhookDelivery).from_select(
        ["webhook_id", "event_id", "event_type", "origin", "status", "attempts", "next_attempt_at", "created_at"],
        events))
    # Counted, not taken from rowcount: drivers disagree on it after INSERT … SELECT.
    queued = uow.session.scalar(select(func.count()).where(WebhookDelivery.webhook_id == hook.id,
                                                           WebhookDelivery.origin == replay_id))
    return {"replay_id": replay_id, "webhook_id": hook.id, "since": since, "queued": queued}


def list_attempts(session, webhook_id, args: dict):
    """A webhook's attempts, newest first."""
    hook = get_webhook(session, webhook_id)
    stmt = select(WebhookAttempt).where(WebhookAttempt.webhook_id == hook.id)
    if args.get("event_id"):
        stmt = stmt.where(WebhookAttempt.event_id == args["event_id"])
    rows, cursor = keyset_page(session, stmt, WebhookAttempt.at, WebhookAttempt.id, limit=args["limit"],
                               cursor=args.get("cursor"), descending=True)
    return [attempt_out(a) for a in rows], cursor


def attempt_out(a: WebhookAttempt) -> dict:
    return {"id": a.id, "event_id": a.event_id, "event_type": a.event_type, "attempt": a.attempt, "at": a.at,
            "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms,
            "next_retry_at": a.next_retry_at}


def purge_log(db, days: float) -> int:
    """Attempts, and deliveries that are over, older than ``days``."""
    from sqlalchemy import delete

    cutoff = utcnow() - timedelta(days=days)
    with db.transaction() as uow:
        gone = uow.session.execute(delete(WebhookAttempt).where(WebhookAttempt.at < cutoff)).rowcount
        uow.session.execute(delete(WebhookDelivery).where(
            WebhookDelivery.created_at < cutoff, WebhookDelivery.status != delivery.PENDING))
    return gone


def ping(db, sender, webhook_id, now: datetime | None = None):
    """Send a signed test event (``gateway.webhook.ping``, never on the bus)
    to a webhook, whether or not it is enabled; the attempt is listed with
    the others. Returns (outcome, event)."""
    from shared.events import new_event

    now = now or utcnow()
    with db.sessions() as session:
        hook = get_webhook(session, webhook_id)
        url, secrets = hook.url, signing.secrets_in_use(hook, now)
    event = new_event(source="gateway", type="gateway.webhook.ping", subject=hook.id, data={
        "webhook_id": hook.id, "message": "A test from Cadena: deliveries reach this endpoint."})
    body = delivery.encode_body(event)
    outcome = sender.post(url, body.encode(), signing.headers(secrets, event["id"], body, now))
    with db.transaction() as uow:
        uow.session.add(WebhookAttempt(webhook_id=hook.id, event_id=event["id"], event_type=event["type"], attempt=1,
                                       at=now, status_code=outcome.status_code,
                                       error=outcome.error and outcome.error[:delivery.MAX_ERROR],
                                       duration_ms=outcome.duration_ms))
    return outcome, event
