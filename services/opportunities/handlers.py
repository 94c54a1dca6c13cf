"""Opportunities' reactions to other services' events: routing key → handler(event, uow).

Handlers never commit: the inbox dispatcher commits the effect together with
the event id, so a redelivery has no second effect.
"""
from __future__ import annotations

from shared.auth import on_user_changed
from shared.handover import handover_handler
from shared.inbox import merge_handlers

from services.opportunities import merging, replica, service


on_account_changed = replica.ACCOUNTS.handler(
    lambda event: replica.account_values(event["data"]), "accounts.account.created / .updated → the account replica.")


def on_account_deleted(event: dict, uow) -> None:
    replica.mark_account_deleted(uow.session, event["data"])


on_contact_changed = replica.CONTACTS.handler(
    lambda event: replica.contact_values(event["data"]), "accounts.contact.created / .updated → the contact replica.")


def on_contact_deleted(event: dict, uow) -> None:
    replica.mark_contact_deleted(uow.session, event["data"])


HANDLERS = merge_handlers({
    "accounts.account.created": on_account_changed,
    "accounts.account.updated": on_account_changed,
    "accounts.account.deleted": on_account_deleted,
    "accounts.contact.created": on_contact_changed,
    "accounts.contact.updated": on_contact_changed,
    "accounts.contact.deleted": on_contact_deleted,
    "identity.user.created": on_user_changed,
    "identity.user.updated": on_user_changed,
    "identity.user.handover_requested": handover_handler("opportunities", service.reassign_owner),
}, merging.HANDLERS)
