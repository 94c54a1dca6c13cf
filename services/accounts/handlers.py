"""Accounts' reactions to other services' events: routing key → handler(event, uow).

Each source context's reactions live in their own module (on_<context>.py)
and are merged here.
"""
from __future__ import annotations

import importlib

from shared.auth import on_user_changed
from shared.handover import handover_handler

from services.accounts.service import reassign_owner

HANDLERS = {
    "identity.user.created": on_user_changed,
    "identity.user.updated": on_user_changed,
    "identity.user.handover_requested": handover_handler("accounts", reassign_owner),
}

for _source in ("opportunities", "activities", "support", "identity"):
    try:
        _module = importlib.import_module(f"services.accounts.on_{_source}")
    except ModuleNotFoundError:
        continue
    HANDLERS.update(_module.HANDLERS)
