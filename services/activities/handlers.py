"""Activities' reactions to other services' events: routing key → handler(event, uow).

The replica of linked records (accounts, contacts, opportunities, cases), the
users replica, and handovers of open activities.
"""
from __future__ import annotations

import uuid

from shared.auth import on_user_changed
from shared.handover import handover_handler
from shared.inbox import PermanentError, merge_handlers

from services.activities import merging
from services.activities.links import LINKED, Record, linked_values, record_from, upsert
from services.activities.service import reassign_owner


def _keep(event: dict, kind: str) -> Record:
    """What to keep of another service's record; an event without a usable id can never be applied."""
    record = record_from(kind, event["data"])
    try:
        uuid.UUID(record.id)
    except ValueError:
        raise PermanentError(f"{event['type']} without a valid id") from None
    return record


on_account_changed = LINKED.handler(lambda event: linked_values(_keep(event, "account")),
                                   "The account as a linked record (never an older version over a newer).")


def on_account_deleted(event, uow):
    upsert(uow.session, uow.db.is_postgres, _keep(event, "account"), deleted=True)


on_contact_changed = LINKED.handler(lambda event: linked_values(_keep(event, "contact")),
                                   "The contact as a linked record (never an older version over a newer).")


def on_contact_deleted(event, uow):
    upsert(uow.session, uow.db.is_postgres, _keep(event, "contact"), deleted=True)


on_opportunity_changed = LINKED.handler(lambda event: linked_values(_keep(event, "opportunity")),
                                   "The opportunity as a linked record (never an older version over a newer).")


def on_opportunity_deleted(event, uow):
    upsert(uow.session, uow.db.is_postgres, _keep(event, "opportunity"), deleted=True)


on_case_changed = LINKED.handler(lambda event: linked_values(_keep(event, "case")),
                                   "The case as a linked record (never an older version over a newer).")


def on_case_deleted(event, uow):
    upsert(uow.session, uow.db.is_postgres, _keep(event, "case"), deleted=True)


HANDLERS = merge_handlers({
    "identity.user.created": on_user_changed,
    "identity.user.updated": on_user_changed,
    "identity.user.handover_requested": handover_handler("activities", reassign_owner),
    "accounts.account.created": on_account_changed,
    "accounts.account.updated": on_account_changed,
    "accounts.account.deleted": on_account_deleted,
    "accounts.contact.created": on_contact_changed,
    "accounts.contact.updated": on_contact_changed,
    "accounts.contact.deleted": on_contact_deleted,
    "opportunities.opportunity.created": on_opportunity_changed,
    "opportunities.opportunity.updated": on_opportunity_changed,
    "opportunities.opportunity.stage_changed": on_opportunity_changed,
    "opportunities.opportunity.deleted": on_opportunity_deleted,
    "support.case.opened": on_case_changed,
    "support.case.updated": on_case_changed,
    "support.case.deleted": on_case_deleted,
}, merging.HANDLERS)
