"""Support's reactions to other services' events: routing key → handler(event, uow)."""
from __future__ import annotations

from shared.auth import on_user_changed
from shared.inbox import PermanentError

from services.support import replica, service
from services.support.models import AccountReplica, ContactReplica


def on_account_changed(event: dict, uow) -> None:
    """accounts.account.created / .updated → the accounts replica (never back to an older version)."""
    replica.upsert_account(uow.session, event["data"])


def on_account_deleted(event: dict, uow) -> None:
    replica.mark_deleted(uow.session, AccountReplica, event["data"].get("id") or event["subject"])


def on_contact_changed(event: dict, uow) -> None:
    """accounts.contact.created / .updated → the contacts replica (e-mail matching for inbound mail)."""
    replica.upsert_contact(uow.session, event["data"])


def on_contact_deleted(event: dict, uow) -> None:
    replica.mark_deleted(uow.session, ContactReplica, event["data"].get("id") or event["subject"])


def on_handover_requested(event: dict, uow) -> None:
    """identity.user.handover_requested → the user's open cases pass to to_user_id."""
    data = event["data"]
    if not all(data.get(k) for k in ("handover_id", "from_user_id", "to_user_id")):
        raise PermanentError("a handover needs handover_id, from_user_id and to_user_id")
    service.hand_over_cases(uow, data["handover_id"], data["from_user_id"], data["to_user_id"])


HANDLERS = {
    "identity.user.created": on_user_changed,
    "identity.user.updated": on_user_changed,
    "identity.user.handover_requested": on_handover_requested,
    "accounts.account.created": on_account_changed,
    "accounts.account.updated": on_account_changed,
    "accounts.account.deleted": on_account_deleted,
    "accounts.contact.created": on_contact_changed,
    "accounts.contact.updated": on_contact_changed,
    "accounts.contact.deleted": on_contact_deleted,
}
