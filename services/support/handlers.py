"""Support's reactions to other services' events: routing key → handler(event, uow)."""
from __future__ import annotations

from shared.auth import on_user_changed
from shared.handover import handover_handler
from shared.inbox import in_runs, merge_handlers

from services.support import merging, replica, service
from services.support.models import AccountReplica, ContactReplica


@in_runs(lambda events, uow: replica.ACCOUNTS.upsert_many(
    uow.session, [replica.account_values(e["data"]) for e in events]))
def on_account_changed(event: dict, uow) -> None:
    """accounts.account.created / .updated → the accounts replica (never back to an older version)."""
    replica.upsert_account(uow.session, event["data"])


def on_account_deleted(event: dict, uow) -> None:
    replica.mark_deleted(uow.session, AccountReplica, event["data"].get("id") or event["subject"])


@in_runs(lambda events, uow: replica.CONTACTS.upsert_many(
    uow.session, [replica.contact_values(e["data"]) for e in events]))
def on_contact_changed(event: dict, uow) -> None:
    """accounts.contact.created / .updated → the contacts replica (e-mail matching for inbound mail)."""
    replica.upsert_contact(uow.session, event["data"])


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
