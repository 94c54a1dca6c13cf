"""Support's part of a merge (CONTRACTS §9, "Merge"; docs/merge.md): cases
that named a merged account or contact name the survivor, each publishing
its normal ``support.case.updated``; contacts of a merged account belong to
the survivor in the replica, and the merged records' copies become
tombstones (no late event brings them back, no new case can name them).
Safe to redeliver (shared/merges.py).
"""
from __future__ import annotations

from sqlalchemy import update

from shared.merges import merged_ids, repoint

from services.support import replica
from services.support.models import AccountReplica, Case, ContactReplica
from services.support.service import case_data

UPDATED = "support.case.updated"


def on_account_merged(event: dict, uow) -> None:
    survivor, merged = merged_ids(event)
    for account_id in merged:  # first: a case being opened for one waits, then finds it gone
        replica.mark_deleted(uow.session, AccountReplica, account_id)
    uow.session.execute(update(ContactReplica).where(ContactReplica.account_id.in_(merged))
                        .values(account_id=survivor))
    repoint(uow, Case, Case.account_id, survivor, merged, UPDATED, case_data, order=Case.number)


def on_contact_merged(event: dict, uow) -> None:
    survivor, merged = merged_ids(event)
    for contact_id in merged:
        replica.mark_deleted(uow.session, ContactReplica, contact_id)
    repoint(uow, Case, Case.contact_id, survivor, merged, UPDATED, case_data, order=Case.number)


HANDLERS = {
    "accounts.account.merged": on_account_merged,
    "accounts.contact.merged": on_contact_merged,
}
