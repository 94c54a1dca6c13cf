"""Webhook secrets and signatures, per the Standard Webhooks specification:
``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``
keyed with the base64-decoded secret (``whsec_<base64>``). While a rotated
secret's overlap lasts, both sign: two ``v1`` signatures, space separated."""
from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta, timezone

from standardwebhooks import Webhook as Signer

PREFIX = "whsec_"
OVERLAP = timedelta(hours=24)  # a rotated-out secret still signs this long
USER_AGENT = "Cadena-Webhooks/1.0"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secrets_in_use: list[str], msg_id: str, timestamp: int, body: str) -> str:
    when = datetime.fromtimestamp(timestamp, timezone.utc)
    return " ".join(Signer(secret).sign(msg_id=msg_id, timestamp=when, data=body) for secret in secrets_in_use)


def headers(secrets_in_use: list[str], msg_id: str, body: str, now: datetime) -> dict[str, str]:
    """The headers a delivery carries (the body is the CloudEvent, structured mode)."""
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/cloudevents+json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secrets_in_use, msg_id, timestamp, body),
    }


def secrets_in_use(webhook, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    found = [webhook.secret]
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires is not None and expires > now:
        found.append(webhook.previous_secret)
    return found
