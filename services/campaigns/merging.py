"""Campaigns' part of a merge (CONTRACTS §9, "Merge"; docs/merge.md).

- A contact merged into another: in each campaign its membership becomes the
  survivor's — unless the survivor already is a member; then the survivor
  keeps whichever of the two is further along (targeted < sent < responded <
  converted < opted out; the earlier response counts for ROI) and the other
  one's state is kept in ``merged_members``: one member per person, no
  history lost. An opt-out of a merged contact holds for the survivor (the
  same person asked not to be mailed).
- An account merged into another: members, contacts and deals of the
  replica that named it name the survivor.
- The merged records' copies become tombstones: no segment targets them, no
  late event brings them back.

Campaigns publishes no event for a member's contact or account (members have
none but sent/responded/converted/opted_out); idempotent and safe to
redeliver: a second run finds nothing left to move.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from shared.db import utcnow
from shared.merges import merged_ids
from shared.replica import Replica

from services.campaigns.models import (AccountReplica, ContactReplica, Member, MergedMember, OpportunityReplica,
                                       OptOut)

RANK = {"targeted": 0, "sent": 1, "responded": 2, "converted": 3, "opted_out": 4}
STATE = ("status", "delivery", "claim_token", "claimed_at", "attempts", "next_attempt_at", "sent_at", "message_id",
         "template", "last_error", "responded_at", "converted_at", "opted_out_at")


ACCOUNTS = Replica(AccountReplica.__table__)
CONTACTS = Replica(ContactReplica.__table__)


def on_account_merged(event: dict, uow) -> None:
    survivor, merged = merged_ids(event)
    session = uow.session
    for account_id in merged:
        ACCOUNTS.mark_deleted(session, {"id": account_id})
    for model in (Member, ContactReplica, OpportunityReplica):
        session.execute(update(model).where(model.account_id.in_(merged)).values(account_id=survivor)
                        .execution_options(synchronize_session=False))


def on_contact_merged(event: dict, uow) -> None:
    survivor, merged = merged_ids(event)
    session = uow.session
    for contact_id in merged:
        CONTACTS.mark_deleted(session, {"id": contact_id}, known=False, interests=[])
    account_id = event["data"].get("account_id")
    stmt = (select(Member).where(Member.contact_id.in_(merged)).order_by(Member.campaign_id, Member.contact_id)
            .execution_options(populate_existing=True))
    if uow.db.is_postgres:
        stmt = stmt.with_for_update()
    for member in session.scalars(stmt).all():
        _fold(session, member, survivor, account_id, lock=uow.db.is_postgres)
    _carry_opt_out(session, survivor, merged)


def _fold(session, member: Member, survivor: str, account_id: str | None, *, lock: bool) -> None:
    """One membership of a merged contact, into the survivor's."""
    now = utcnow()
    kept = session.get(Member, (member.campaign_id, survivor), with_for_update=lock or None)
    if kept is None:  # the survivor was not a member: this membership becomes its own
        member.contact_id = survivor
        member.account_id = account_id or member.account_id
        member.version += 1
        member.updated_at = now
        session.flush()
        return
    responded = min((t for t in (kept.responded_at, member.responded_at) if t is not None), default=None)
    if RANK[member.status] > RANK[kept.status]:  # the merged one is further along: the survivor takes its state
        session.add(_archived(kept, survivor, now))
        for name in STATE:
            setattr(kept, name, getattr(member, name))
    else:
        session.add(_archived(member, survivor, now))
    kept.responded_at = responded
    kept.version += 1
    kept.updated_at = now
    session.delete(member)
    session.flush()


def _archived(member: Member, survivor: str, now: datetime) -> MergedMember:
    state = {name: _json(getattr(member, name)) for name in (*STATE, "account_id", "created_at", "updated_at",
                                                             "version")}
    return MergedMember(campaign_id=member.campaign_id, contact_id=member.contact_id, merged_into=survivor,
                        merged_at=now, state=state)


def _json(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _carry_opt_out(session, survivor: str, merged: list[str]) -> None:
    if session.get(OptOut, survivor) is not None:
        return
    earliest = session.scalars(select(OptOut).where(OptOut.contact_id.in_(merged))
                               .order_by(OptOut.opted_out_at).limit(1)).first()
    if earliest is not None:
        session.add(OptOut(contact_id=survivor, campaign_id=earliest.campaign_id, opted_out_at=earliest.opted_out_at))
        session.flush()


HANDLERS = {
    "accounts.account.merged": on_account_merged,
    "accounts.contact.merged": on_contact_merged,
}
