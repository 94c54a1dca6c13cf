"""A campaign's members: who a segment matches now, building the members
from it, and each member's response (responded, converted, opted out)."""
from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from shared.auth import Principal, UserDirectory, authorize_write
from shared.db import utcnow
from shared.http import Conflict, NotFound, ensure_version, keyset_page

from services.campaigns import owned_products, rules
from services.campaigns.models import AccountReplica, ContactReplica, Member, OptOut
from services.campaigns.service import get_campaign

# Members a rebuild may drop when they stop matching: nothing happened to them yet.
REMOVABLE_DELIVERY = (None, "pending", "skipped")
# Which member status may follow which (PATCH); the same status again is a no-op.
NEXT_STATUS = {
    "targeted": {"responded", "converted", "opted_out"},
    "sent": {"responded", "converted", "opted_out"},
    "responded": {"converted", "opted_out"},
    "converted": {"opted_out"},
    "opted_out": set(),
}


def targets(session, segment: dict):
    """Every known, live contact of the replica as a rules.Target, narrowed
    in SQL where that is exact (codes and enums) and decided by rules.matches."""
    stmt = (select(ContactReplica, AccountReplica)
            .outerjoin(AccountReplica, AccountReplica.id == ContactReplica.account_id)
            .where(ContactReplica.deleted.is_(False), ContactReplica.known.is_(True)))
    if segment.get("country"):
        stmt = stmt.where(AccountReplica.country.in_(segment["country"]))
    if segment.get("account_segment"):
        stmt = stmt.where(AccountReplica.segment.in_(segment["account_segment"]))
    if segment.get("lifecycle_stage"):
        stmt = stmt.where(ContactReplica.lifecycle_stage.in_(segment["lifecycle_stage"]))
    owned: dict[str, tuple[str, ...]] = {}
    if segment.get("products"):
        owners = owned_products.owners_of(segment["products"])
        stmt = stmt.where(ContactReplica.account_id.in_(owners))
        owned = owned_products.owned_by(session, session.scalars(owners))
    for contact, account in session.execute(stmt.order_by(ContactReplica.id)).yield_per(1000):
        live = account is not None and not account.deleted
        yield rules.Target(
            contact_id=contact.id, account_id=contact.account_id, lifecycle_stage=contact.lifecycle_stage,
            interests=tuple(contact.interests or ()),
            industry=account.industry if live else None, country=account.country if live else None,
            region=account.region if live else None, account_segment=account.segment if live else None,
            revenue_amount=account.annual_revenue_amount if live else None,
            revenue_currency=account.annual_revenue_currency if live else None, has_account=live,
            products=owned.get(contact.account_id, ()) if live else ())


def matching(session, segment: dict) -> dict[str, str | None]:
    """contact id → account id of the contacts the segment matches now."""
    return {t.contact_id: t.account_id for t in targets(session, segment) if rules.matches(segment, t)}


def build_members(uow, actor: Principal, campaign_id, directory: UserDirectory | None = None) -> dict:
    """Make the member list what the segment matches now. Idempotent: new
    matches are added, members that stopped matching are removed only while
    nothing happened to them (targeted and not sent), everyone else stays."""
    session = uow.session
    campaign = get_campaign(session, campaign_id, lock=True)
    authorize_write(actor, "campaign", campaign.owner_id, directory, session)
    if campaign.status == "completed":
        raise Conflict("The campaign is completed; its members are final.", slug="invalid-transition")
    wanted = matching(session, campaign.segment or {})
    existing = {m.contact_id: m for m in session.scalars(select(Member).where(Member.campaign_id == campaign.id))}
    opted = dict(session.execute(select(OptOut.contact_id, OptOut.opted_out_at)).all())
    sending = campaign.status == "active" and campaign.channel == "email"
    added = removed = 0
    now = utcnow()
    for contact_id, account_id in wanted.items():
        member = existing.get(contact_id)
        if member is None:
            out = contact_id in opted
            session.add(Member(
                campaign_id=campaign.id, contact_id=contact_id, account_id=account_id, created_at=now,
                status="opted_out" if out else "targeted", opted_out_at=opted.get(contact_id),
                delivery=("skipped" if out else "pending") if sending else None,
                last_error="opted out" if out and sending else None, version=1, attempts=0))
            added += 1
        elif member.status == "targeted" and member.account_id != account_id:
            member.account_id = account_id
            member.version += 1
    gone = [cid for cid, m in existing.items()
            if cid not in wanted and m.status == "targeted" and m.delivery in REMOVABLE_DELIVERY]
    for chunk in range(0, len(gone), 500):
        removed += session.execute(delete(Member).where(
            Member.campaign_id == campaign.id, Member.contact_id.in_(gone[chunk:chunk + 500]),
            Member.status == "targeted", or_(Member.delivery.is_(None), Member.delivery.in_(("pending", "skipped"))),
        )).rowcount
    total = len(existing) + added - removed
    result = {"campaign_id": campaign.id, "added": added, "removed": removed,
              "kept": len(existing) - removed, "total": total}
    if added or removed:
        uow.publish("campaigns.campaign.members_built", campaign.id, result)
    try:
        uow.session.flush()
    except IntegrityError:  # another build of the same campaign won the race (SQLite has no row lock)
        raise Conflict("The members are being built by another request; retry.") from None
    return result


def get_member(session, campaign_id, contact_id, *, lock: bool = False) -> Member:
    stmt = select(Member).where(Member.campaign_id == str(campaign_id), Member.contact_id == str(contact_id))
    if lock:
        stmt = stmt.with_for_update()
    member = session.scalar(stmt)
    if member is None:
        raise NotFound(f"Contact {contact_id} is not a member of campaign {campaign_id}.")
    return member


def list_members(session, campaign_id, args: dict) -> tuple[list[Member], str | None]:
    get_campaign(session, campaign_id)
    stmt = select(Member).where(Member.campaign_id == str(campaign_id))
    for field in ("status", "delivery", "account_id"):
        if args.get(field):
            stmt = stmt.where(getattr(Member, field) == args[field])
    return keyset_page(session, stmt, Member.created_at, Member.contact_id, limit=args["limit"],
                       cursor=args.get("cursor"))


def update_member(uow, actor: Principal, campaign_id, contact_id, status: str, expected: set[str] | None,
                  directory: UserDirectory | None = None) -> Member:
    """Record a response, a conversion or an opt-out. A conversion implies a
    response; an opt-out is for every campaign (the contact is never mailed again)."""
    session = uow.session
    campaign = get_campaign(session, campaign_id)
    authorize_write(actor, "campaign", campaign.owner_id, directory, session)
    member = get_member(session, campaign.id, contact_id, lock=True)
    ensure_version(member.version, expected)
    if status == member.status:
        return member
    if status not in NEXT_STATUS[member.status]:
        raise Conflict(f"A {member.status} member cannot become {status}.", slug="invalid-transition")
    now = utcnow()
    payload = {"campaign_id": campaign.id, "contact_id": member.contact_id, "account_id": member.account_id}
    member.status = status
    member.version += 1
    if status in ("responded", "converted") and member.responded_at is None:
        member.responded_at = now
        uow.publish("campaigns.member.responded", campaign.id, {**payload, "responded_at": now.isoformat()})
    if status == "converted":
        member.converted_at = now
        uow.publish("campaigns.member.converted", campaign.id, {**payload, "converted_at": now.isoformat()})
    if status == "opted_out":
        member.opted_out_at = now
        if member.delivery == "pending":
            member.delivery, member.last_error = "skipped", "opted out"
        if session.get(OptOut, member.contact_id) is None:
            session.add(OptOut(contact_id=member.contact_id, campaign_id=campaign.id, opted_out_at=now))
        uow.publish("campaigns.member.opted_out", campaign.id, {**payload, "opted_out_at": now.isoformat()})
    try:
        session.flush()
    except IntegrityError:  # the same contact opted out of two campaigns at once
        raise Conflict("The member changed at the same moment; retry.") from None
    return member
