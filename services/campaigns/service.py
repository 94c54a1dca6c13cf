"""Campaigns' use cases: one function per command, one transaction each."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.orm.exc import StaleDataError

from shared import history
from shared.auth import Principal, UserDirectory, authorize_write
from shared.db import money_out, utcnow
from shared.http import Conflict, Invalid, NotFound, PreconditionFailed, ensure_version, keyset_page

from services.campaigns import rules, schemas
from services.campaigns.models import Campaign, Member, OpportunityReplica, OptOut

FIELDS = ("name", "description", "channel", "starts_at", "ends_at", "owner_id", "templates")
DEFAULT_CURRENCY = "EUR"

_event_out = schemas.CampaignOut(exclude=("progress", "member_count"))
_member_out = schemas.CampaignMember()


# -- shapes -------------------------------------------------------------------------

def empty_progress() -> dict:
    return {"total": 0, "sent": 0, "pending": 0, "failed": 0, "unknown": 0, "skipped": 0}


def campaign_dict(campaign: Campaign, stats: tuple[int, dict] | None = None) -> dict:
    data = {f: getattr(campaign, f) for f in ("id", "version", "created_at", "updated_at", "status",
                                             "launched_at", "completed_at", *FIELDS)}
    data["templates"] = campaign.templates or {}
    data["segment"] = campaign.segment or rules.normalise_segment({}, DEFAULT_CURRENCY)
    data["budget"] = money_out(campaign.budget_amount, campaign.budget_currency)
    data["actual_cost"] = money_out(campaign.actual_cost_amount, campaign.actual_cost_currency)
    if stats is not None:
        data["member_count"], data["progress"] = stats
    return data


def campaign_data(campaign: Campaign) -> dict:
    """The full campaign, as events carry it."""
    return _event_out.dump(campaign_dict(campaign))


def member_data(member: Member) -> dict:
    return _member_out.dump(member)


def campaign_currency(campaign: Campaign, default: str = DEFAULT_CURRENCY) -> str:
    return campaign.actual_cost_currency or campaign.budget_currency or default


# -- campaigns -------------------------------------------------------------------------

def get_campaign(session, campaign_id, *, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(Campaign.id == str(campaign_id), Campaign.deleted_at.is_(None))
    if lock:  # serialise builds, launches and sends of one campaign (Postgres; SQLite has one writer)
        stmt = stmt.with_for_update()
    campaign = session.scalar(stmt)
    if campaign is None:
        raise NotFound.of("campaign", campaign_id)
    return campaign


def stats(session, campaign_ids: list[str]) -> dict[str, tuple[int, dict]]:
    """Member count and sending progress per campaign, in one query."""
    out = {cid: (0, empty_progress()) for cid in campaign_ids}
    if not campaign_ids:
        return out
    rows = session.execute(select(Member.campaign_id, Member.delivery, func.count())
                           .where(Member.campaign_id.in_(campaign_ids))
                           .group_by(Member.campaign_id, Member.delivery))
    counts: dict[str, int] = {}
    for campaign_id, delivery, n in rows:
        counts[campaign_id] = counts.get(campaign_id, 0) + n
        progress = out[campaign_id][1]
        if delivery is None:
            continue
        progress["total"] += n
        progress["pending" if delivery == "sending" else delivery] += n
    return {cid: (counts.get(cid, 0), out[cid][1]) for cid in campaign_ids}


def _check_owner(session, actor: Principal, owner_id: str, directory: UserDirectory | None) -> None:
    authorize_write(actor, "campaign", owner_id, directory, session)
    if owner_id != actor.id and directory is not None:
        owner = directory.get(owner_id, session=session, token=actor.token)
        if owner is None or not owner.get("active", True):
            raise Invalid("The owner is not an active user.", errors={"owner_id": ["No active user with this id."]})


def _apply(campaign: Campaign, data: dict, default_currency: str) -> None:
    for field in FIELDS:
        if field in data:
            setattr(campaign, field, data[field])
    for key in ("budget", "actual_cost"):
        if key in data:
            money = data[key]
            setattr(campaign, f"{key}_amount", money["amount"] if money else None)
            setattr(campaign, f"{key}_currency", money["currency"] if money else None)
    if "templates" in data:
        campaign.templates = data["templates"] or {}
    if "segment" in data:
        segment = rules.normalise_segment(data["segment"], campaign_currency(campaign, default_currency))
        problems = rules.segment_problems(segment)
        if problems:
            raise Invalid("The segment is inconsistent.", errors=problems)
        campaign.segment = segment
    _check_consistent(campaign)


def _check_consistent(campaign: Campaign) -> None:
    if campaign.starts_at and campaign.ends_at and campaign.ends_at < campaign.starts_at:
        raise Invalid("A campaign cannot end before it starts.", errors={"ends_at": ["Before starts_at."]})
    if (campaign.budget_currency and campaign.actual_cost_currency
            and campaign.budget_currency != campaign.actual_cost_currency):
        raise Invalid("Budget and actual cost must share a currency (ROI compares them with revenue).",
                      errors={"actual_cost.currency": [f"Use {campaign.budget_currency}, the budget's currency."]})


def _clean(data: dict) -> dict:
    return {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in data.items()}


def _flush(session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise PreconditionFailed("The campaign was changed by someone else at the same moment; GET it and retry.") from None


def create_campaign(uow, actor: Principal, data: dict, directory: UserDirectory | None = None,
                    default_currency: str = DEFAULT_CURRENCY) -> Campaign:
    data = _clean(data)
    if data.get("owner_id") is None:
        data["owner_id"] = actor.id
    if data.pop("status", "draft") != "draft":
        raise Invalid("A campaign starts as draft; POST /api/v1/campaigns/{id}/launch makes it active.",
                      errors={"status": ["Must be draft when creating."]})
    data.setdefault("segment", {})
    session = uow.session
    _check_owner(session, actor, data["owner_id"], directory)
    campaign = Campaign(status="draft", templates={})
    _apply(campaign, data, default_currency)
    session.add(campaign)
    session.flush()
    uow.publish("campaigns.campaign.created", campaign.id, campaign_data(campaign))
    return campaign


def update_campaign(uow, actor: Principal, campaign_id, changes: dict, expected: set[str] | None,
                    directory: UserDirectory | None = None, default_currency: str = DEFAULT_CURRENCY) -> Campaign:
    changes = _clean(changes)
    session = uow.session
    campaign = get_campaign(session, campaign_id)
    ensure_version(campaign.version, expected)
    authorize_write(actor, "campaign", campaign.owner_id, directory, session)
    if "owner_id" in changes and changes["owner_id"] != campaign.owner_id:
        if changes["owner_id"] is None:
            raise Invalid("A campaign needs an owner.", errors={"owner_id": ["Field may not be null."]})
        _check_owner(session, actor, changes["owner_id"], directory)
    for key in ("name", "channel"):
        if key in changes and not changes[key]:
            raise Invalid(f"A campaign needs a {key}.", errors={key: ["Field may not be null."]})
    if "channel" in changes and changes["channel"] != campaign.channel and campaign.status != "draft":
        raise Conflict("The channel of a launched campaign cannot change.")
    status, before = changes.pop("status", campaign.status), campaign_data(campaign)
    if status != campaign.status:
        if status != "completed":
            raise Conflict(f"A {campaign.status} campaign cannot become {status} by PATCH; "
                           "POST /api/v1/campaigns/{id}/launch activates a draft.",
                           slug="invalid-transition")
        campaign.status = "completed"
        campaign.completed_at = utcnow()
    _apply(campaign, changes, default_currency)
    if not session.is_modified(campaign):
        return campaign
    _flush(session)
    history.updated(uow, "campaigns.campaign.updated", campaign.id, campaign_data(campaign), before=before)
    return campaign


def delete_campaign(uow, actor: Principal, campaign_id, expected: set[str] | None,
                    directory: UserDirectory | None = None) -> None:
    session = uow.session
    campaign = get_campaign(session, campaign_id)
    ensure_version(campaign.version, expected)
    authorize_write(actor, "campaign", campaign.owner_id, directory, session)
    campaign.deleted_at = utcnow()
    _flush(session)
    uow.publish("campaigns.campaign.deleted", campaign.id, {"id": campaign.id, "name": campaign.name})


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_campaigns(session, args: dict) -> tuple[list[Campaign], str | None]:
    stmt = select(Campaign).where(Campaign.deleted_at.is_(None))
    for field in ("owner_id", "status", "channel"):
        if args.get(field):
            stmt = stmt.where(getattr(Campaign, field) == args[field])
    for field in ("account_id", "contact_id"):
        if args.get(field):
            stmt = stmt.where(Campaign.id.in_(
                select(Member.campaign_id).where(getattr(Member, field) == args[field])))
    if args.get("q"):
        stmt = stmt.where(Campaign.name.ilike(_like(args["q"]), escape="\\"))
    return keyset_page(session, stmt, Campaign.created_at, Campaign.id, limit=args["limit"], cursor=args.get("cursor"))


# -- launch --------------------------------------------------------------------------

def launch_campaign(uow, actor: Principal, campaign_id, expected: set[str] | None,
                    directory: UserDirectory | None = None) -> tuple[Campaign, int]:
    """draft → active. For e-mail, queue one message per member (the worker
    sends them); opted-out members are skipped. A second launch is a 409."""
    session = uow.session
    campaign = get_campaign(session, campaign_id, lock=True)
    ensure_version(campaign.version, expected)
    authorize_write(actor, "campaign", campaign.owner_id, directory, session)
    if campaign.status != "draft":
        raise Conflict(f"The campaign is already {campaign.status}; a campaign is launched once "
                       "(nothing more was sent).", slug="already-launched")
    now, before = utcnow(), campaign_data(campaign)
    campaign.status = "active"
    campaign.launched_at = now
    _flush(session)
    members = session.scalar(select(func.count()).select_from(Member).where(Member.campaign_id == campaign.id))
    queued = 0
    if campaign.channel == "email":
        opted_out = or_(Member.status == "opted_out", Member.contact_id.in_(select(OptOut.contact_id)))
        session.execute(update(Member).where(Member.campaign_id == campaign.id, Member.delivery.is_(None), opted_out)
                        .values(delivery="skipped", last_error="opted out", updated_at=now))
        queued = session.execute(update(Member).where(Member.campaign_id == campaign.id, Member.delivery.is_(None))
                                 .values(delivery="pending", updated_at=now)).rowcount
    history.updated(uow, "campaigns.campaign.updated", campaign.id, campaign_data(campaign), before=before)
    uow.publish("campaigns.campaign.launched", campaign.id,
                {"campaign_id": campaign.id, "member_count": members, "channel": campaign.channel,
                 "queued": queued, "launched_at": now.isoformat()})
    return campaign, queued


# -- ROI -----------------------------------------------------------------------------

def campaign_roi(session, campaign_id, default_currency: str = DEFAULT_CURRENCY) -> dict:
    campaign = get_campaign(session, campaign_id)
    currency = campaign_currency(campaign, default_currency)
    if campaign.actual_cost_amount is not None:
        cost = campaign.actual_cost_amount
    elif campaign.budget_amount is not None:
        cost = campaign.budget_amount
    else:
        cost = Decimal("0")
    responses = dict(session.execute(
        select(Member.account_id, func.min(Member.responded_at))
        .where(Member.campaign_id == campaign.id, Member.responded_at.is_not(None), Member.account_id.is_not(None))
        .group_by(Member.account_id)).all())
    won = select(OpportunityReplica).where(OpportunityReplica.status == "won", or_(
        OpportunityReplica.campaign_id == campaign.id,
        OpportunityReplica.account_id.in_(list(responses)) if responses else false()))
    deals = [rules.WonDeal(o.id, o.account_id, o.campaign_id, o.amount or Decimal("0"), o.currency or currency,
                           o.won_at) for o in session.scalars(won.order_by(OpportunityReplica.won_at, OpportunityReplica.id))]
    roi = rules.compute_roi(campaign.id, cost, currency, deals, responses)
    return {
        "campaign_id": campaign.id,
        "cost": money_out(roi.cost, currency),
        "influenced_revenue": money_out(roi.influenced_revenue, currency),
        "won_deals": roi.won_deals,
        "roi": float(roi.roi) if roi.roi is not None else None,
        "deals": [{"opportunity_id": d.opportunity_id, "account_id": d.account_id, "won_at": d.won_at,
                   "amount": money_out(d.amount, d.currency), "reason": reason} for d, reason in roi.deals],
        "other_currencies": [money_out(a, c) for c, a in sorted(roi.other_currencies.items())],
    }


# -- handover ----------------------------------------------------------------------

def reassign_campaigns(uow, from_user_id: str, to_user_id: str) -> dict[str, int]:
    """The user's open (draft or active) campaigns pass to to_user_id (no commit: a handler)."""
    session = uow.session
    moved = 0
    for campaign in session.scalars(select(Campaign).where(
            Campaign.owner_id == from_user_id, Campaign.status.in_(("draft", "active")),
            Campaign.deleted_at.is_(None))):
        before = campaign_data(campaign)
        campaign.owner_id = to_user_id
        session.flush()
        history.updated(uow, "campaigns.campaign.updated", campaign.id, campaign_data(campaign), before=before)
        moved += 1
    return {"campaigns": moved}
