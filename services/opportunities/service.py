"""Opportunities' use cases: one function per command, one transaction each."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from shared import history
from shared.auth import Principal, UserDirectory, authorize_write
from shared.db import utcnow
from shared.http import Conflict, Invalid, NotFound, PreconditionFailed, ensure_version, keyset_page

from services.opportunities import products, replica, rules, schemas, totals
from services.opportunities.models import LineItem, Opportunity
from services.opportunities.forecasting import scoped
from services.opportunities.replica import AccountsClient

FIELDS = ("name", "account_id", "primary_contact_id", "close_date", "stage", "probability", "forecast_category",
          "owner_id", "description", "campaign_id")
# What may still change once a deal is closed: the deal itself (amount, lines,
# dates, stage, owner) is final, and billing may already have it.
CLOSED_EDITABLE = frozenset({"name", "description"})

_out = schemas.OpportunityOut()
_won = schemas.WonDeal()


@dataclass
class Deps:
    """What use cases need from outside the transaction."""

    directory: UserDirectory | None = None
    accounts: AccountsClient | None = None


# -- shapes ---------------------------------------------------------------------

def _money(amount, currency) -> dict:
    return {"amount": amount, "currency": currency}


def line_dict(line: LineItem) -> dict:
    return {"product_code": line.product_code, "description": line.description, "quantity": line.quantity,
            "unit_price": _money(line.unit_price, line.currency), "total": _money(line.total, line.currency),
            "name": line.product_name or line.description, "family": line.product_family}


def opportunity_dict(opp: Opportunity) -> dict:
    data = {f: getattr(opp, f) for f in ("id", "version", "created_at", "updated_at", *FIELDS)}
    data.update(amount=_money(opp.amount, opp.currency), line_items=[line_dict(li) for li in opp.line_items],
                closed_at=opp.closed_at, close_reason=opp.close_reason)
    return data


def opportunity_data(opp: Opportunity) -> dict:
    """The full opportunity as events carry it (JSON-ready)."""
    return _out.dump(opportunity_dict(opp))


def won_data(opp: Opportunity, account, contact) -> dict:
    """The won-deal contract (CONTRACTS §5, docs/billing-won-deal.md)."""
    return _won.dump({
        "opportunity_id": opp.id,
        "account": replica.account_card(account),
        "primary_contact": replica.contact_card(contact),
        "owner_id": opp.owner_id,
        "amount": _money(opp.amount, opp.currency),
        "close_date": opp.close_date,
        "won_at": opp.closed_at,
        "line_items": [line_dict(li) for li in opp.line_items],
        "currency": opp.currency,
        "name": opp.name,
        "campaign_id": opp.campaign_id,
        "reason": opp.close_reason,
    })


def _clean(data: dict) -> dict:
    return {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in data.items()}


# -- reading ----------------------------------------------------------------------

def get_opportunity(session, opportunity_id, *, for_update: bool = False) -> Opportunity:
    stmt = select(Opportunity).where(Opportunity.id == str(opportunity_id))
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Opportunity)
    opp = session.scalars(stmt.execution_options(populate_existing=True)).first()
    if opp is None or opp.deleted_at is not None:
        raise NotFound.of("opportunity", opportunity_id)
    return opp


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_opportunities(session, args: dict) -> tuple[list[Opportunity], str | None]:
    return keyset_page(session, opportunity_query(args), Opportunity.created_at, Opportunity.id,
                       limit=args["limit"], cursor=args.get("cursor"))


def opportunity_query(args: dict):
    """Live deals matching a list's filters (the list pages it; export streams it)."""
    stmt = select(Opportunity).where(Opportunity.deleted_at.is_(None))
    for field in ("owner_id", "account_id", "primary_contact_id", "campaign_id", "stage", "forecast_category",
                  "currency"):
        if args.get(field):
            stmt = stmt.where(getattr(Opportunity, field) == args[field])
    status = args.get("status")
    if status == "open":
        stmt = stmt.where(Opportunity.stage.in_(rules.OPEN_STAGES))
    elif status in ("won", "lost"):
        stmt = stmt.where(Opportunity.stage == f"closed_{status}")
    if args.get("close_date_from"):
        stmt = stmt.where(Opportunity.close_date >= args["close_date_from"])
    if args.get("close_date_to"):
        stmt = stmt.where(Opportunity.close_date <= args["close_date_to"])
    if args.get("q"):
        stmt = stmt.where(Opportunity.name.ilike(_like(args["q"]), escape="\\"))
    return scoped(stmt, Opportunity.owner_id, None, args.get("team"))


# -- checks -----------------------------------------------------------------------

def _check_owner(session, actor: Principal, owner_id: str, deps: Deps) -> None:
    authorize_write(actor, "opportunity", owner_id, deps.directory, session)
    if owner_id != actor.id and deps.directory is not None:
        owner = deps.directory.get(owner_id, session=session, token=actor.token)
        if owner is None or not owner.get("active", True):
            raise Invalid("The owner is not an active user.", errors={"owner_id": ["No active user with this id."]})


def _check_contact(session, actor: Principal, contact_id: str | None, account_id: str, deps: Deps) -> None:
    if contact_id is None:
        return
    contact = replica.find_contact(session, contact_id, actor.token, deps.accounts)
    if contact.account_id and contact.account_id != account_id:
        raise Invalid("The primary contact works for another account.",
                      errors={"primary_contact_id": ["This contact belongs to another account."]})


def _check_forecast_category(category: str) -> None:
    if category not in rules.OPEN_FORECAST_CATEGORIES:
        raise Invalid("An open deal's forecast category is pipeline, best_case, commit or omitted.",
                      errors={"forecast_category": ["'closed' is for won deals only."]})


def _lines_and_amount(amount: dict | None, lines: list[dict]) -> dict:
    amount, errors = rules.check_lines(amount, lines)
    if errors:
        raise Invalid("The amount and the line items do not agree.", errors=errors)
    return amount


def _set_lines(opp: Opportunity, lines: list[dict]) -> None:
    opp.line_items = [
        LineItem(position=i, product_code=li.get("product_code"), description=li.get("description"),
                 product_name=li.get("product_name"), product_family=li.get("product_family"), quantity=li["quantity"], unit_price=li["unit_price"]["amount"], currency=li["unit_price"]["currency"],
                 total=rules.line_total(li["quantity"], li["unit_price"]["amount"]))
        for i, li in enumerate(lines)
    ]


def _current_lines(opp: Opportunity) -> list[dict]:
    return [{"product_code": li.product_code, "description": li.description, "quantity": li.quantity,
             "unit_price": _money(li.unit_price, li.currency)} for li in opp.line_items]


def _flush(session, conflict: str | None = None) -> None:
    try:
        session.flush()
    except StaleDataError:
        if conflict:
            raise Conflict(conflict, slug="already-closed") from None
        raise PreconditionFailed("The deal was changed by someone else at the same moment; GET it and retry.") from None


# -- commands ---------------------------------------------------------------------

def create_opportunity(uow, actor: Principal, data: dict, deps: Deps) -> Opportunity:
    data = _clean(data)
    session = uow.session
    owner_id = data.get("owner_id") or actor.id
    _check_owner(session, actor, owner_id, deps)
    stage = data.get("stage") or "prospecting"
    if not rules.is_open(stage):
        raise Invalid("A deal starts open; close it with POST …/win or …/lose.",
                      errors={"stage": ["Must be an open stage: " + ", ".join(rules.OPEN_STAGES) + "."]})
    probability, category = rules.stage_defaults(stage, data.get("probability"), data.get("forecast_category"))
    _check_forecast_category(category)
    lines = products.catalogue_lines(session, data.get("line_items"))
    amount = _lines_and_amount(data.get("amount"), lines)
    account = replica.find_account(session, data["account_id"], actor.token, deps.accounts)
    _check_contact(session, actor, data.get("primary_contact_id"), account.id, deps)
    opp = Opportunity(
        name=data["name"], account_id=account.id, primary_contact_id=data.get("primary_contact_id"),
        amount=amount["amount"], currency=amount["currency"],
        close_date=data.get("close_date") or rules.end_of_quarter(utcnow().date()),
        stage=stage, probability=probability, forecast_category=category, owner_id=owner_id,
        description=data.get("description"), campaign_id=data.get("campaign_id"))
    _set_lines(opp, lines)
    session.add(opp)
    session.flush()
    totals.track(session, (None, totals.contribution(opp)))
    history.created(uow, "opportunities.opportunity.created", opp.id, opportunity_data(opp))
    return opp


def update_opportunity(uow, actor: Principal, opportunity_id, changes: dict, expected: set[str] | None,
                       deps: Deps) -> Opportunity:
    changes = _clean(changes)
    session = uow.session
    opp = get_opportunity(session, opportunity_id, for_update=True)
    ensure_version(opp.version, expected)
    authorize_write(actor, "opportunity", opp.owner_id, deps.directory, session)
    _refuse_frozen(opp, changes)
    if changes.get("line_items"):
        changes["line_items"] = products.catalogue_lines(session, changes["line_items"])
    before, counted, from_stage = opportunity_data(opp), totals.contribution(opp), opp.stage
    account_id = _checked_links(session, actor, opp, changes, deps)
    if opp.is_open:
        _apply_stage(opp, changes)
        _apply_amount(opp, changes)
    for key in ("name", "primary_contact_id", "close_date", "owner_id", "description", "campaign_id"):
        if key in changes:
            setattr(opp, key, changes[key])
    opp.account_id = account_id
    if _same(before, opportunity_data(opp)):  # nothing changed: no version bump, no event
        session.rollback()
        opp = get_opportunity(session, opportunity_id)
        session.expunge(opp)  # keep it readable after the unit of work rolls back
        return opp
    opp.updated_at = utcnow()  # a change to the lines alone still bumps the version
    _flush(session)
    totals.track(session, (counted, totals.contribution(opp)))
    after = opportunity_data(opp)
    if opp.stage != from_stage:
        history.updated(uow, "opportunities.opportunity.stage_changed", opp.id, {**after, "from_stage": from_stage},
                        before=before, after=after)
    else:
        history.updated(uow, "opportunities.opportunity.updated", opp.id, after, before=before)
    return opp


def _refuse_frozen(opp: Opportunity, changes: dict) -> None:
    """Closing goes through /win and /lose; a closed deal keeps all but its name and description."""
    if "stage" in changes and changes["stage"] in rules.CLOSED_STAGES and changes["stage"] != opp.stage:
        raise Conflict(f"Close a deal with POST /api/v1/opportunities/{opp.id}/win or /lose, not by PATCHing "
                       "its stage (closing publishes the won or lost event exactly once).", slug="use-win-or-lose")
    if not opp.is_open:
        frozen = sorted(k for k, v in changes.items() if k not in CLOSED_EDITABLE and v != _current(opp, k))
        if frozen:
            raise Conflict(f"The deal is {opp.stage}: it is final; only its name and description can change "
                           f"(not {', '.join(frozen)}).", slug="deal-closed")
    for key in ("name", "account_id", "owner_id"):
        if key in changes and not changes[key]:
            raise Invalid(f"A deal needs a {key}.", errors={key: ["Field may not be null."]})


def _checked_links(session, actor: Principal, opp: Opportunity, changes: dict, deps: Deps) -> str:
    """The owner, account and contact the change names exist and fit; returns the deal's account."""
    if "owner_id" in changes and changes["owner_id"] != opp.owner_id:
        _check_owner(session, actor, changes["owner_id"], deps)
    account_id = opp.account_id
    if "account_id" in changes and changes["account_id"] != opp.account_id:
        account_id = replica.find_account(session, changes["account_id"], actor.token, deps.accounts).id
        if "primary_contact_id" not in changes:
            changes["primary_contact_id"] = None  # a contact does not follow the deal to another company
    if changes.get("primary_contact_id") and (changes["primary_contact_id"] != opp.primary_contact_id
                                              or account_id != opp.account_id):
        _check_contact(session, actor, changes["primary_contact_id"], account_id, deps)
    return account_id


def _apply_stage(opp: Opportunity, changes: dict) -> None:
    stage = changes.get("stage") or opp.stage
    if stage != opp.stage:
        # Entering a stage resets what the stage implies, unless this request sets it too.
        probability, category = rules.stage_defaults(stage, changes.get("probability"),
                                                     changes.get("forecast_category"))
    else:  # kept as they are unless sent; null means "back to the stage's default"
        probability, category = rules.stage_defaults(
            stage, changes.get("probability", opp.probability),
            changes.get("forecast_category", opp.forecast_category))
    _check_forecast_category(category)
    opp.stage, opp.probability, opp.forecast_category = stage, probability, category


def _apply_amount(opp: Opportunity, changes: dict) -> None:
    if "line_items" not in changes and "amount" not in changes:
        return
    lines = changes["line_items"] if "line_items" in changes else _current_lines(opp)
    amount = changes.get("amount")
    if amount is None:
        amount = None if lines else _money(opp.amount, opp.currency)
    amount = _lines_and_amount(amount, lines)
    opp.amount, opp.currency = amount["amount"], amount["currency"]
    if "line_items" in changes:
        _set_lines(opp, lines)


def _current(opp: Opportunity, key: str):
    if key == "amount":
        return _money(opp.amount, opp.currency)
    if key == "line_items":
        return _current_lines(opp)
    return getattr(opp, key, None)


def _same(before: dict, after: dict) -> bool:
    ignore = ("version", "updated_at")
    return {k: v for k, v in before.items() if k not in ignore} == {k: v for k, v in after.items() if k not in ignore}


def close_opportunity(uow, actor: Principal, opportunity_id, outcome: str, data: dict, expected: set[str] | None,
                      deps: Deps) -> Opportunity:
    """Win or lose a deal: the only way to close one, and the only place the
    won/lost events are published — once, because a closed deal can't close again."""
    assert outcome in ("won", "lost")
    session = uow.session
    opp = get_opportunity(session, opportunity_id, for_update=True)
    ensure_version(opp.version, expected)
    authorize_write(actor, "opportunity", opp.owner_id, deps.directory, session)
    if not opp.is_open:
        raise Conflict(f"The deal is already {opp.stage}; a closed deal cannot be closed again.",
                       slug="already-closed", extra={"stage": opp.stage})
    now = utcnow()
    counted, before = totals.contribution(opp), opportunity_data(opp)
    opp.stage = f"closed_{outcome}"
    opp.probability, opp.forecast_category = rules.stage_defaults(opp.stage)
    opp.closed_at = now
    opp.close_reason = data.get("reason")
    opp.close_date = data.get("close_date") or now.date()
    _flush(session, conflict="The deal was closed by someone else at the same moment.")
    totals.track(session, (counted, totals.contribution(opp)))
    if outcome == "won":
        account = replica.find_account(session, opp.account_id, actor.token, deps.accounts, allow_deleted=True)
        contact = None
        if opp.primary_contact_id:
            try:
                contact = replica.find_contact(session, opp.primary_contact_id, actor.token, deps.accounts,
                                               allow_deleted=True)
            except Invalid:
                contact = None  # the contact is gone for good; billing gets null
        history.updated(uow, "opportunities.opportunity.won", opp.id, won_data(opp, account, contact),
                        before=before, after=opportunity_data(opp))
    else:
        history.updated(uow, "opportunities.opportunity.lost", opp.id, {
            "opportunity_id": opp.id, "account_id": opp.account_id, "amount": _money_out(opp),
            "reason": opp.close_reason, "owner_id": opp.owner_id, "close_date": opp.close_date.isoformat(),
            "lost_at": now.isoformat(), "campaign_id": opp.campaign_id}, before=before, after=opportunity_data(opp))
    return opp


def _money_out(opp: Opportunity) -> dict:
    return {"amount": f"{Decimal(opp.amount):.2f}", "currency": opp.currency}


def delete_opportunity(uow, actor: Principal, opportunity_id, expected: set[str] | None, deps: Deps) -> None:
    session = uow.session
    opp = get_opportunity(session, opportunity_id, for_update=True)
    ensure_version(opp.version, expected)
    authorize_write(actor, "opportunity", opp.owner_id, deps.directory, session)
    if opp.stage == "closed_won":
        raise Conflict("A won deal is final (billing has it); it cannot be deleted.", slug="deal-closed")
    counted = totals.contribution(opp)
    opp.deleted_at = utcnow()
    _flush(session)
    totals.track(session, (counted, None))
    history.deleted(uow, "opportunities.opportunity.deleted", opp.id,
                    {"id": opp.id, "opportunity_id": opp.id, "account_id": opp.account_id, "name": opp.name},
                    opp.deleted_at)


def reassign_owner(uow, from_user_id: str, to_user_id: str) -> dict[str, int]:
    """Handover (CONTRACTS §3): every open deal of a leaving user passes to the
    successor; closed deals keep their owner (the credit stays). No commit: the
    handler's unit commits. Idempotent: a second run finds nothing to move."""
    moved = 0
    stmt = select(Opportunity).where(Opportunity.owner_id == from_user_id, Opportunity.deleted_at.is_(None),
                                     Opportunity.stage.in_(rules.OPEN_STAGES)).order_by(Opportunity.id)
    for opp in uow.session.scalars(stmt).all():
        counted, before = totals.contribution(opp), opportunity_data(opp)
        opp.owner_id = to_user_id
        opp.updated_at = utcnow()
        uow.session.flush()
        totals.track(uow.session, (counted, totals.contribution(opp)))
        history.updated(uow, "opportunities.opportunity.updated", opp.id, opportunity_data(opp), before=before)
        moved += 1
    return {"opportunities": moved}
