"""Opportunities' reactions to other services' events: routing key → handler(event, uow).

Handlers never commit: the inbox dispatcher commits the effect together with
the event id, so a redelivery has no second effect.
"""
from __future__ import annotations

from shared.auth import on_user_changed
from shared.handover import handover_handler
from shared.inbox import in_runs, merge_handlers

from services.opportunities import merging, replica, service


@in_runs(lambda events, uow: replica.ACCOUNTS.upsert_many(
    uow.session, [replica.account_values(e["data"]) for e in events]))
def on_account_changed(event: dict, uow) -> None:
    """accounts.account.created / .updated → the account replica."""
    replica.upsert_account(uow.session, event["data"])


def on_account_deleted(event: dict, uow) -> None:
    replica.mark_account_deleted(uow.session, event["data"])


@in_runs(lambda events, uow: replica.CONTACTS.upsert_many(
    uow.session, [replica.contact_values(e["data"]) for e in events]))
def on_contact_changed(event: dict, uow) -> None:
    """accounts.contact.created / .updated → the contact replica."""
    replica.upsert_contact(uow.session, event["data"])


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
