"""Opportunities' use cases: one function per command, one transaction each."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from shared.auth import Principal, UserDirectory, authorize_write
from shared.db import utcnow
from shared.http import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed, ensure_version, keyset_page

from services.opportunities import replica, rules, schemas, totals
from services.opportunities.models import TABLES, LineItem, Opportunity, PipelineTotal, Quota
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
            "unit_price": _money(line.unit_price, line.currency), "total": _money(line.total, line.currency)}


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
    stmt = _scoped(stmt, Opportunity.owner_id, None, args.get("team"))
    return keyset_page(session, stmt, Opportunity.created_at, Opportunity.id, limit=args["limit"],
                       cursor=args.get("cursor"))


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
                 quantity=li["quantity"], unit_price=li["unit_price"]["amount"], currency=li["unit_price"]["currency"],
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
    lines = data.get("line_items") or []
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
    uow.publish("opportunities.opportunity.created", opp.id, opportunity_data(opp))
    uow.commit()
    return opp


def update_opportunity(uow, actor: Principal, opportunity_id, changes: dict, expected: set[str] | None,
                       deps: Deps) -> Opportunity:
    changes = _clean(changes)
    session = uow.session
    opp = get_opportunity(session, opportunity_id, for_update=True)
    ensure_version(opp.version, expected)
    authorize_write(actor, "opportunity", opp.owner_id, deps.directory, session)
    if "stage" in changes and changes["stage"] in rules.CLOSED_STAGES and changes["stage"] != opp.stage:
        raise Conflict(f"Close a deal with POST /api/v1/opportunities/{opp.id}/win or /lose, not by PATCHing "
                       "its stage (closing publishes the won or lost event exactly once).", slug="use-win-or-lose")
    if not opp.is_open:
        frozen = sorted(k for k, v in changes.items() if k not in CLOSED_EDITABLE and v != _current(opp, k))
        if frozen:
            raise Conflict(f"The deal is {opp.stage}: it is final; only its name and description can change "
                           f"(not {', '.join(frozen)}).", slug="deal-closed")
    before = opportunity_data(opp)
    counted = totals.contribution(opp)
    for key in ("name", "account_id", "owner_id"):
        if key in changes and not changes[key]:
            raise Invalid(f"A deal needs a {key}.", errors={key: ["Field may not be null."]})
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
    from_stage = opp.stage
    if opp.is_open:
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
        if "line_items" in changes or "amount" in changes:
            lines = changes["line_items"] if "line_items" in changes else _current_lines(opp)
            amount = changes.get("amount")
            if amount is None:
                amount = None if lines else _money(opp.amount, opp.currency)
            amount = _lines_and_amount(amount, lines)
            opp.amount, opp.currency = amount["amount"], amount["currency"]
            if "line_items" in changes:
                _set_lines(opp, lines)
    for key in ("name", "primary_contact_id", "close_date", "owner_id", "description", "campaign_id"):
        if key in changes:
            setattr(opp, key, changes[key])
    opp.account_id = account_id
    after = opportunity_data(opp)
    if _same(before, after):  # nothing changed: no version bump, no event
        session.rollback()
        opp = get_opportunity(session, opportunity_id)
        session.expunge(opp)  # keep it readable after the unit of work rolls back
        return opp
    opp.updated_at = utcnow()  # a change to the lines alone still bumps the version
    _flush(session)
    totals.track(session, (counted, totals.contribution(opp)))
    if opp.stage != from_stage:
        uow.publish("opportunities.opportunity.stage_changed", opp.id,
                    {**opportunity_data(opp), "from_stage": from_stage})
    else:
        uow.publish("opportunities.opportunity.updated", opp.id, opportunity_data(opp))
    uow.commit()
    return opp


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
    counted = totals.contribution(opp)
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
        uow.publish("opportunities.opportunity.won", opp.id, won_data(opp, account, contact))
    else:
        uow.publish("opportunities.opportunity.lost", opp.id, {
            "opportunity_id": opp.id, "account_id": opp.account_id, "amount": _money_out(opp),
            "reason": opp.close_reason, "owner_id": opp.owner_id, "close_date": opp.close_date.isoformat(),
            "lost_at": now.isoformat(), "campaign_id": opp.campaign_id})
    uow.commit()
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
    uow.publish("opportunities.opportunity.deleted", opp.id,
                {"id": opp.id, "opportunity_id": opp.id, "account_id": opp.account_id, "name": opp.name})
    uow.commit()


def reassign_owner(uow, from_user_id: str, to_user_id: str) -> dict[str, int]:
    """Handover (CONTRACTS §3): every open deal of a leaving user passes to the
    successor; closed deals keep their owner (the credit stays). No commit: the
    handler's unit commits. Idempotent: a second run finds nothing to move."""
    moved = 0
    stmt = select(Opportunity).where(Opportunity.owner_id == from_user_id, Opportunity.deleted_at.is_(None),
                                     Opportunity.stage.in_(rules.OPEN_STAGES)).order_by(Opportunity.id)
    for opp in uow.session.scalars(stmt).all():
        counted = totals.contribution(opp)
        opp.owner_id = to_user_id
        opp.updated_at = utcnow()
        uow.session.flush()
        totals.track(uow.session, (counted, totals.contribution(opp)))
        uow.publish("opportunities.opportunity.updated", opp.id, opportunity_data(opp))
        moved += 1
    return {"opportunities": moved}


# -- pipeline and forecast (aggregated in SQL over the pipeline_totals buckets) ------

def _cents_to_money(value) -> Decimal:
    return (Decimal(value or 0) / 100).quantize(rules.CENT)


def _weighted_money(value) -> Decimal:
    """Σ(cents × probability) / 100 / 100, rounded half up once."""
    return rules.cents(Decimal(value or 0) / 10000)


def _scoped(stmt, owner_col, owner_id: str | None, team: str | None):
    if owner_id:
        stmt = stmt.where(owner_col == owner_id)
    if team:
        users = TABLES.users
        stmt = stmt.where(owner_col.in_(select(users.c.id).where(users.c.team == team)))
    return stmt


def pipeline(session, *, owner_id: str | None = None, team: str | None = None, currency: str = "EUR") -> dict:
    t = PipelineTotal
    stmt = (select(t.stage, func.sum(t.deals), func.sum(t.cents), func.sum(t.weighted))
            .where(t.currency == currency, t.stage.in_(rules.OPEN_STAGES))
            .group_by(t.stage))
    rows = {r[0]: r for r in session.execute(_scoped(stmt, t.owner_id, owner_id, team))}
    stages = []
    total_count, total_cents, total_weighted = 0, 0, 0
    for name in rules.OPEN_STAGES:
        _, count, cents, weighted = rows.get(name, (name, 0, 0, 0))
        count, cents, weighted = int(count or 0), int(cents or 0), int(weighted or 0)
        stages.append({"stage": name, "count": count, "amount": _money(_cents_to_money(cents), currency),
                       "weighted_amount": _money(_weighted_money(weighted), currency)})
        total_count += count
        total_cents += cents
        total_weighted += weighted
    return {"currency": currency, "stages": stages,
            "totals": {"count": total_count, "amount": _money(_cents_to_money(total_cents), currency),
                       "weighted_amount": _money(_weighted_money(total_weighted), currency)}}


def forecast(session, *, period: str, owner_id: str | None = None, team: str | None = None,
             currency: str = "EUR") -> dict:
    """Deals whose close_date falls in the period (docs/opportunities.md, "Forecast")."""
    start, end = _period(period)
    t = PipelineTotal
    open_ = t.stage.in_(rules.OPEN_STAGES)

    def total(condition, value=t.cents):
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    stmt = select(
        total(t.stage == "closed_won"),
        total(and_(open_, t.forecast_category == "commit")),
        total(and_(open_, t.forecast_category == "best_case")),
        total(and_(open_, t.forecast_category == "pipeline")),
        total(and_(open_, t.forecast_category != "omitted"), t.weighted),
    ).where(t.currency == currency, t.month >= rules.month_of(start), t.month <= rules.month_of(end))
    won, commit, best, pipe, weighted = session.execute(_scoped(stmt, t.owner_id, owner_id, team)).one()
    quota_stmt = select(func.coalesce(func.sum(cast(func.round(Quota.amount * 100), BigInteger)), 0)).where(
        Quota.period == period, Quota.currency == currency)
    quota = _cents_to_money(session.scalar(_scoped(quota_stmt, Quota.user_id, owner_id, team)))
    closed_won = _cents_to_money(won)
    return {"period": period, "period_start": start, "period_end": end, "currency": currency,
            "quota": _money(quota, currency), "closed_won": _money(closed_won, currency),
            "commit": _money(_cents_to_money(commit), currency),
            "best_case": _money(_cents_to_money(best), currency),
            "pipeline": _money(_cents_to_money(pipe), currency),
            "weighted_pipeline": _money(_weighted_money(weighted), currency),
            "attainment": rules.attainment(closed_won, quota)}


def _period(period: str) -> tuple[date, date]:
    try:
        return rules.parse_period(period)
    except rules.BadPeriod as exc:
        raise Invalid(str(exc), errors={"period": [str(exc)]}) from None


# -- quotas ------------------------------------------------------------------------

def quota_dict(quota: Quota) -> dict:
    return {"user_id": quota.user_id, "period": quota.period, "amount": _money(quota.amount, quota.currency),
            "version": quota.version, "created_at": quota.created_at, "updated_at": quota.updated_at}


def _authorize_quota(session, actor: Principal, user_id: str, deps: Deps) -> None:
    """Admin, or the user's manager (its manager_id, or a manager of its team)."""
    user = deps.directory.get(user_id, session=session, token=actor.token) if deps.directory else None
    if user is None:
        raise NotFound.of("user", user_id)
    if actor.is_admin:
        return
    if actor.role != "manager":
        raise Forbidden("Only an admin or the user's manager may set a quota.")
    if user.get("manager_id") == actor.id or (user["id"] != actor.id and user.get("team")
                                               and user.get("team") == actor.team):
        return
    raise Forbidden("Only an admin or the user's manager may set this user's quota.")


def get_quota(session, user_id, period: str) -> Quota:
    _period(period)
    quota = session.get(Quota, (str(user_id), period))
    if quota is None:
        raise NotFound(f"No quota for user {user_id} in {period}.")
    return quota


def list_quotas(session, args: dict) -> tuple[list[Quota], str | None]:
    stmt = select(Quota)
    if args.get("user_id"):
        stmt = stmt.where(Quota.user_id == args["user_id"])
    if args.get("period"):
        stmt = stmt.where(Quota.period == args["period"])
    return keyset_page(session, stmt, Quota.created_at, Quota.user_id, limit=args["limit"], cursor=args.get("cursor"))


def put_quota(uow, actor: Principal, user_id, period: str, data: dict, expected: set[str] | None,
              deps: Deps) -> tuple[Quota, bool]:
    """Set a user's quota for a period; returns (quota, created)."""
    user_id = str(user_id)
    _period(period)
    session = uow.session
    _authorize_quota(session, actor, user_id, deps)
    stmt = select(Quota).where(Quota.user_id == user_id, Quota.period == period)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    quota = session.scalars(stmt).first()
    if quota is None:
        if expected is not None:
            raise PreconditionFailed(f"There is no quota for {period} yet; send the PUT without If-Match.")
        quota = Quota(user_id=user_id, period=period, amount=data["amount"]["amount"],
                      currency=data["amount"]["currency"])
        session.add(quota)
        created = True
    else:
        ensure_version(quota.version, expected)
        quota.amount, quota.currency = data["amount"]["amount"], data["amount"]["currency"]
        created = False
    try:
        _flush(session)
        uow.commit()
    except IntegrityError:
        raise Conflict("Someone set this quota at the same moment; retry.") from None
    return quota, created
