"""Campaigns' reactions to other services' events: routing key → handler(event, uow).

Accounts and contacts feed the replica segments are evaluated on;
opportunities feed the won deals ROI is computed from. Handlers never
commit (the inbox does, with the event id) and tolerate any arrival order:
full records carry a version, and older versions never overwrite newer.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, or_, update

from shared.auth import on_user_changed
from shared.handover import handover_handler
from shared.inbox import PermanentError, in_runs, merge_handlers
from shared.replica import Replica

from services.campaigns import merging, owned_products, schemas, service
from services.campaigns.models import AccountReplica, ContactReplica, OpportunityReplica


def _parse_time(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _time(event: dict) -> datetime:
    return _parse_time(event.get("time")) or datetime.now(timezone.utc)


ACCOUNTS = Replica(AccountReplica.__table__)
CONTACTS = Replica(ContactReplica.__table__)


# -- accounts ----------------------------------------------------------------------

def on_account_changed(event: dict, uow) -> None:
    data = schemas.AccountEvent().load(event["data"])
    revenue = data.get("annual_revenue")
    ACCOUNTS.upsert(uow.session, {
        "id": data["id"], "name": data.get("name"), "industry": data.get("industry"),
        "segment": data.get("segment"), "country": (data.get("country") or "").upper() or None,
        "region": data.get("region"), "annual_revenue_amount": revenue["amount"] if revenue else None,
        "annual_revenue_currency": revenue["currency"] if revenue else None, "version": data.get("version") or 0})


def on_account_deleted(event: dict, uow) -> None:
    ACCOUNTS.mark_deleted(uow.session, {"id": _subject(event, "accounts.account.deleted")})


# -- contacts ----------------------------------------------------------------------

_LIFECYCLE = (update(ContactReplica.__table__)
              .where(ContactReplica.__table__.c.id == bindparam("contact_id"),
                     or_(ContactReplica.__table__.c.lifecycle_at.is_(None),
                         ContactReplica.__table__.c.lifecycle_at <= bindparam("moment")))
              .values(lifecycle_stage=bindparam("stage"), lifecycle_at=bindparam("moment")))


def _contact_fields(data: dict) -> dict:
    if not data.get("id"):
        raise PermanentError("a contact event without an id")
    version = data.get("version")
    return {**{k: data.get(k) for k in ("account_id", "first_name", "last_name", "email", "lifecycle_stage",
                                         "interests")},
            "id": str(data["id"]), "version": int(version) if version is not None else None}


def _contact_values(data: dict) -> dict:
    return {"id": data["id"], "account_id": data.get("account_id"), "first_name": data.get("first_name"),
            "last_name": data.get("last_name"), "email": data.get("email"),
            "interests": list(data.get("interests") or []), "known": True, "version": data.get("version") or 0}


def on_contacts_changed(events: list[dict], uow) -> None:
    """A run of contact events: the replica, then the stages they set (which
    only the lifecycle columns hold, so applying them after is the same)."""
    # The inbox checked each event against its contract already; this load
    # only picks and types the fields the replica keeps.
    loaded = [_contact_fields(event["data"]) for event in events]
    CONTACTS.upsert_many(uow.session, [_contact_values(data) for data in loaded])
    stages = [{"contact_id": data["id"], "stage": data["lifecycle_stage"], "moment": _time(event)}
              for event, data in zip(events, loaded) if data.get("lifecycle_stage")]
    if stages:
        uow.session.execute(_LIFECYCLE, stages)


@in_runs(on_contacts_changed)
def on_contact_changed(event: dict, uow) -> None:
    on_contacts_changed([event], uow)


def _set_lifecycle(session, contact_id: str, stage: str, moment: datetime) -> None:
    """A stage applies unless a newer event already set one (events may arrive out of order)."""
    session.execute(_LIFECYCLE, {"contact_id": contact_id, "stage": stage, "moment": moment})


def _subject(event: dict, what: str) -> str:
    record_id = event["data"].get("id") or event.get("subject")
    if not record_id:
        raise PermanentError(f"{what} without an id")
    return str(record_id)


def on_contact_lifecycle_changed(event: dict, uow) -> None:
    data = schemas.LifecycleEvent().load(event["data"])
    # The full contact may still be on its way: keep what we learnt (not targeted until it comes).
    CONTACTS.insert_missing(uow.session, {"id": data["contact_id"], "account_id": data.get("account_id"),
                                          "interests": [], "known": False})
    _set_lifecycle(uow.session, data["contact_id"], data["to"], _time(event))


def on_contact_deleted(event: dict, uow) -> None:
    CONTACTS.mark_deleted(uow.session, {"id": _subject(event, "accounts.contact.deleted")}, known=False,
                          interests=[])


# -- opportunities -------------------------------------------------------------------

def _opportunity(event: dict, uow) -> tuple[OpportunityReplica, dict]:
    data = schemas.OpportunityEvent().load(event["data"])
    opportunity_id = data.get("opportunity_id") or data.get("id") or event.get("subject")
    if not opportunity_id:
        raise PermanentError(f"{event['type']} names no opportunity")
    row = uow.session.get(OpportunityReplica, str(opportunity_id))
    if row is None:
        row = OpportunityReplica(id=str(opportunity_id), status="open")
        uow.session.add(row)
    account = data.get("account_id") or (data.get("account") or {}).get("id")
    if account:
        row.account_id = str(account)
    if "campaign_id" in data:  # present (even null) means the deal says so
        row.campaign_id = data["campaign_id"]
    return row, data


def _amount(row: OpportunityReplica, data: dict) -> None:
    money = data.get("amount")
    if money:
        row.amount = money["amount"]
        row.currency = money.get("currency") or data.get("currency") or row.currency


def on_opportunity_changed(event: dict, uow) -> None:
    """created / stage_changed / updated: the full opportunity."""
    row, data = _opportunity(event, uow)
    if row.status == "won":
        return  # the won event's amount and time are the deal's final word
    _amount(row, data)
    if data.get("stage"):
        row.stage = data["stage"]


def on_opportunity_won(event: dict, uow) -> None:
    row, data = _opportunity(event, uow)
    _amount(row, data)
    row.status = "won"
    row.stage = "closed_won"
    row.won_at = _parse_time(data.get("won_at")) or _time(event)
    owned_products.record_won_lines(uow, row.account_id, event["data"], row.won_at)


def on_opportunity_lost(event: dict, uow) -> None:
    row, _ = _opportunity(event, uow)
    if row.status != "won":
        row.status = "lost"
        row.stage = "closed_lost"


def on_opportunity_deleted(event: dict, uow) -> None:
    row, _ = _opportunity(event, uow)
    row.status = "deleted"


# -- identity ------------------------------------------------------------------------

HANDLERS = merge_handlers({
    "accounts.account.created": on_account_changed,
    "accounts.account.updated": on_account_changed,
    "accounts.account.deleted": on_account_deleted,
    "accounts.contact.created": on_contact_changed,
    "accounts.contact.updated": on_contact_changed,
    "accounts.contact.deleted": on_contact_deleted,
    "accounts.contact.lifecycle_changed": on_contact_lifecycle_changed,
    "opportunities.opportunity.created": on_opportunity_changed,
    "opportunities.opportunity.updated": on_opportunity_changed,
    "opportunities.opportunity.stage_changed": on_opportunity_changed,
    "opportunities.opportunity.won": on_opportunity_won,
    "opportunities.opportunity.lost": on_opportunity_lost,
    "opportunities.opportunity.deleted": on_opportunity_deleted,
    "identity.user.created": on_user_changed,
    "identity.user.updated": on_user_changed,
    "identity.user.handover_requested": handover_handler("campaigns", service.reassign_campaigns),
}, merging.HANDLERS)
