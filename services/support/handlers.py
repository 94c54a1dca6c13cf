"""Support's reactions to other services' events: routing key → handler(event, uow)."""
from __future__ import annotations

from shared.auth import on_user_changed
from shared.handover import handover_handler
from shared.inbox import merge_handlers

from services.support import merging, replica, service
from services.support.models import AccountReplica, ContactReplica


on_account_changed = replica.ACCOUNTS.handler(
    lambda event: replica.account_values(event["data"]),
    "accounts.account.created / .updated → the accounts replica (never back to an older version).")


def on_account_deleted(event: dict, uow) -> None:
    replica.mark_deleted(uow.session, AccountReplica, event["data"].get("id") or event["subject"])


on_contact_changed = replica.CONTACTS.handler(
    lambda event: replica.contact_values(event["data"]),
    "accounts.contact.created / .updated → the contacts replica (e-mail matching for inbound mail).")


def on_contact_deleted(event: dict, uow) -> None:
    replica.mark_deleted(uow.session, ContactReplica, event["data"].get("id") or event["subject"])


HANDLERS = merge_handlers({
    "identity.user.created": on_user_changed,
    "identity.user.updated": on_user_changed,
    "identity.user.handover_requested": handover_handler("support", service.reassign_cases),
    "accounts.account.created": on_account_changed,
    "accounts.account.updated": on_account_changed,
    "accounts.account.deleted": on_account_deleted,
    "accounts.contact.created": on_contact_changed,
    "accounts.contact.updated": on_contact_changed,
    "accounts.contact.deleted": on_contact_deleted,
}, merging.HANDLERS)
