"""Opportunities' part of a merge (CONTRACTS §9, "Merge"; docs/merge.md):
deals that named a merged account or contact name the survivor, each
publishing its normal ``opportunities.opportunity.updated`` (closed deals
too: the deal is final, but whose it is follows the customer). The merged
records' copies become tombstones, so no late event brings them back and no
new deal can name them. Safe to redeliver (shared/merges.py).
"""
from __future__ import annotations

from sqlalchemy import update

from shared.merges import merged_ids, repoint

from services.opportunities import replica
from services.opportunities.models import ContactReplica, Opportunity
from services.opportunities.service import opportunity_data

UPDATED = "opportunities.opportunity.updated"


def on_account_merged(event: dict, uow) -> None:
    survivor, merged = merged_ids(event)
    for account_id in merged:  # first: a deal being created for one waits, then finds it gone
        replica.mark_account_deleted(uow.session, {"id": account_id})
    uow.session.execute(update(ContactReplica).where(ContactReplica.account_id.in_(merged))
                        .values(account_id=survivor))
    repoint(uow, Opportunity, Opportunity.account_id, survivor, merged, UPDATED, opportunity_data)


def on_contact_merged(event: dict, uow) -> None:
    survivor, merged = merged_ids(event)
    for contact_id in merged:
        replica.mark_contact_deleted(uow.session, {"id": contact_id})
    repoint(uow, Opportunity, Opportunity.primary_contact_id, survivor, merged, UPDATED, opportunity_data)


HANDLERS = {
    "accounts.account.merged": on_account_merged,
    "accounts.contact.merged": on_contact_merged,
}
