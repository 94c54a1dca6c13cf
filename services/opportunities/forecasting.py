"""The pipeline and the forecast, aggregated in SQL over the pipeline_totals
buckets (so they stay flat with the number of deals)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, cast, func, select

from shared.http import Invalid

from services.opportunities import rules
from services.opportunities.models import TABLES, PipelineTotal, Quota


def _money(amount, currency) -> dict:
    return {"amount": amount, "currency": currency}

def _cents_to_money(value) -> Decimal:
    return (Decimal(value or 0) / 100).quantize(rules.CENT)


def _weighted_money(value) -> Decimal:
    """Σ(cents × probability) / 100 / 100, rounded half up once."""
    return rules.cents(Decimal(value or 0) / 10000)


def scoped(stmt, owner_col, owner_id: str | None, team: str | None):
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
    rows = {r[0]: r for r in session.execute(scoped(stmt, t.owner_id, owner_id, team))}
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
    start, end = period_bounds(period)
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
    won, commit, best, pipe, weighted = session.execute(scoped(stmt, t.owner_id, owner_id, team)).one()
    quota_stmt = select(func.coalesce(func.sum(cast(func.round(Quota.amount * 100), BigInteger)), 0)).where(
        Quota.period == period, Quota.currency == currency)
    quota = _cents_to_money(session.scalar(scoped(quota_stmt, Quota.user_id, owner_id, team)))
    closed_won = _cents_to_money(won)
    return {"period": period, "period_start": start, "period_end": end, "currency": currency,
            "quota": _money(quota, currency), "closed_won": _money(closed_won, currency),
            "commit": _money(_cents_to_money(commit), currency),
            "best_case": _money(_cents_to_money(best), currency),
            "pipeline": _money(_cents_to_money(pipe), currency),
            "weighted_pipeline": _money(_weighted_money(weighted), currency),
            "attainment": rules.attainment(closed_won, quota)}


def period_bounds(period: str) -> tuple[date, date]:
    try:
        return rules.parse_period(period)
    except rules.BadPeriod as exc:
        raise Invalid(str(exc), errors={"period": [str(exc)]}) from None
