"""Accounts' reactions to other services' events: routing key → handler(event, uow).

Each source context's reactions live in their own module (on_<context>.py),
imported and merged here by name.
"""
from __future__ import annotations

from shared.auth import on_user_changed
from shared.handover import handover_handler
from shared.inbox import merge_handlers

from services.accounts import on_activities, on_opportunities, on_support
from services.accounts.service import reassign_owner

HANDLERS = merge_handlers({
    "identity.user.created": on_user_changed,
    "identity.user.updated": on_user_changed,
    "identity.user.handover_requested": handover_handler("accounts", reassign_owner),
}, on_opportunities.HANDLERS, on_activities.HANDLERS, on_support.HANDLERS)
