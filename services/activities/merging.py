"""Activities' part of a merge (CONTRACTS §9, "Merge"; docs/merge.md):
activities that named a merged account or contact name the survivor, each
publishing its normal ``activities.activity.updated``; the linked records
of a merged account belong to the survivor, and the merged records' copies
become tombstones (no late event brings them back, no new activity can
link to them). Safe to redeliver (shared/merges.py).
"""
from __future__ import annotations

from sqlalchemy import update

from shared.merges import merged_ids, repoint

from services.activities.links import LINKED
from services.activities.models import Activity, LinkedRecord
from services.activities.service import activity_data

UPDATED = "activities.activity.updated"


def on_account_merged(event: dict, uow) -> None:
    survivor, merged = merged_ids(event)
    for account_id in merged:  # first: an activity being linked to one waits, then finds it gone
        LINKED.mark_deleted(uow.session, {"kind": "account", "id": account_id}, account_id=account_id)
    uow.session.execute(update(LinkedRecord).where(LinkedRecord.kind != "account",
                                                   LinkedRecord.account_id.in_(merged))
                        .values(account_id=survivor))
    repoint(uow, Activity, Activity.account_id, survivor, merged, UPDATED, activity_data)


def on_contact_merged(event: dict, uow) -> None:
    survivor, merged = merged_ids(event)
    for contact_id in merged:
        LINKED.mark_deleted(uow.session, {"kind": "contact", "id": contact_id})
    repoint(uow, Activity, Activity.contact_id, survivor, merged, UPDATED, activity_data)


HANDLERS = {
    "accounts.account.merged": on_account_merged,
    "accounts.contact.merged": on_contact_merged,
}
