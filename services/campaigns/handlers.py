"""Campaigns' reactions to other services' events: routing key → handler(event, uow).

Accounts and contacts feed the replica segments are evaluated on;
opportunities feed the won deals ROI is computed from. Handlers never
commit (the inbox does, with the event id) and tolerate any arrival order:
full records carry a version, and older versions never overwrite newer.
"""
from __future__ import annotations

from datetime import datetime, timezone

from shared.auth import on_user_changed
from shared.handover import handover_handler
from shared.inbox import PermanentError

from services.campaigns import owned_products, schemas, service
from services.campaigns.models import AccountReplica, ContactReplica, OpportunityReplica


def _parse_time(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _time(event: dict) -> datetime:
    return _parse_time(event.get("time")) or datetime.now(timezone.utc)


def _stale(row, version: int | None) -> bool:
    return row is not None and row.version is not None and version is not None and version < row.version


# -- accounts ----------------------------------------------------------------------

def on_account_changed(event: dict, uow) -> None:
    data = schemas.AccountEvent().load(event["data"])
    row = uow.session.get(AccountReplica, data["id"])
    if _stale(row, data.get("version")):
        return
    if row is None:
        row = AccountReplica(id=data["id"], deleted=False)
        uow.session.add(row)
    revenue = data.get("annual_revenue")
    row.name = data.get("name")
    row.industry = data.get("industry")
    row.segment = data.get("segment")
    row.country = (data.get("country") or "").upper() or None
    row.region = data.get("region")
    row.annual_revenue_amount = revenue["amount"] if revenue else None
    row.annual_revenue_currency = revenue["currency"] if revenue else None
    row.version = data.get("version")


def on_account_deleted(event: dict, uow) -> None:
    account_id = event["data"].get("id") or event.get("subject")
    if not account_id:
        raise PermanentError("accounts.account.deleted without an id")
    row = uow.session.get(AccountReplica, str(account_id))
    if row is None:
        uow.session.add(AccountReplica(id=str(account_id), deleted=True))
    else:
        row.deleted = True


# -- contacts ----------------------------------------------------------------------

def on_contact_changed(event: dict, uow) -> None:
    data = schemas.ContactEvent().load(event["data"])
    row = uow.session.get(ContactReplica, data["id"])
    if _stale(row, data.get("version")):
        return
    if row is None:
        row = ContactReplica(id=data["id"], deleted=False, interests=[])
        uow.session.add(row)
    for field in ("account_id", "first_name", "last_name", "email"):
        setattr(row, field, data.get(field))
    row.interests = list(data.get("interests") or [])
    row.version = data.get("version")
    row.known = True
    moment = _time(event)
    if data.get("lifecycle_stage") and (row.lifecycle_at is None or moment >= row.lifecycle_at):
        row.lifecycle_stage = data["lifecycle_stage"]
        row.lifecycle_at = moment


def on_contact_lifecycle_changed(event: dict, uow) -> None:
    data = schemas.LifecycleEvent().load(event["data"])
    row = uow.session.get(ContactReplica, data["contact_id"])
    moment = _time(event)
    if row is None:  # the full contact is on its way; keep what we learnt
        uow.session.add(ContactReplica(id=data["contact_id"], account_id=data.get("account_id"), interests=[],
                                       lifecycle_stage=data["to"], lifecycle_at=moment, known=False, deleted=False))
        return
    if row.lifecycle_at is None or moment >= row.lifecycle_at:
        row.lifecycle_stage = data["to"]
        row.lifecycle_at = moment


def on_contact_deleted(event: dict, uow) -> None:
    contact_id = event["data"].get("id") or event.get("subject")
    if not contact_id:
        raise PermanentError("accounts.contact.deleted without an id")
    row = uow.session.get(ContactReplica, str(contact_id))
    if row is None:
        uow.session.add(ContactReplica(id=str(contact_id), deleted=True, known=False, interests=[]))
    else:
        row.deleted = True


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

HANDLERS = {
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
}
