"""Accounts' reactions to other services' events: routing key → handler(event, uow)."""
from __future__ import annotations

from shared.auth import on_user_changed

HANDLERS = {
    "identity.user.created": on_user_changed,
    "identity.user.updated": on_user_changed,
}
