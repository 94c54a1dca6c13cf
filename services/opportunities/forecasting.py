"""The pipeline and the forecast, aggregated in SQL over the pipeline_totals
buckets (so they stay flat with the number of deals)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, and_, case, cast, func, select

from shared.http import Invalid

from services.opportunities import currency as currency_rules, rules
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


class Figures:
    """How a figure is made from its per-currency parts (whole cents, or Σ cents ×
    probability for weighted ones).

    One currency asked for (``only``): that currency's parts alone, unconverted,
    exactly as before §11 (weighted rounded once, half up). Otherwise every
    currency, converted to ``base`` at the current rates and rounded once at the
    end, half-even (services/opportunities/currency.py); a missing rate → 409."""

    def __init__(self, session, only: str | None, base: str):
        self.only, self.base = only, base
        self.currency = only or base
        self.rates = {} if only else currency_rules.rates_for(session, base)
        self.used: set[str] = set()

    def money(self, cents: dict[str, int]) -> dict:
        if self.only:
            return _money(_cents_to_money(cents.get(self.only, 0)), self.only)
        return self._converted({c: Decimal(v or 0) / 100 for c, v in cents.items()})

    def weighted(self, values: dict[str, int]) -> dict:
        if self.only:
            return _money(_weighted_money(values.get(self.only, 0)), self.only)
        return self._converted({c: Decimal(v or 0) / 10000 for c, v in values.items()})

    def _converted(self, parts: dict[str, Decimal]) -> dict:
        if all(c == self.base for c, v in parts.items() if v):
            # Nothing to convert: the figure before §11, exact, rounded once half up (docs/currencies.md).
            return _money(rules.cents(sum(parts.values(), Decimal(0))), self.base)
        try:
            amount = currency_rules.convert_total(parts, self.rates, self.base)
        except currency_rules.MissingRate as exc:
            raise currency_rules.missing_rate_problem(exc.currencies, self.base) from None
        self.used.update(c for c, v in parts.items() if v and c != self.base)
        return _money(amount, self.base)

    def rates_used(self) -> dict[str, str]:
        return {c: currency_rules.format_rate(self.rates[c]) for c in sorted(self.used)}


def _by(rows) -> dict:
    """{key: {currency: value}} from rows of (key, currency, value)."""
    out: dict = {}
    for key, currency, value in rows:
        out.setdefault(key, {})[currency] = int(value or 0)
    return out


def pipeline(session, *, owner_id: str | None = None, team: str | None = None, currency: str | None = None,
             base: str = "EUR") -> dict:
    t = PipelineTotal
    stmt = (select(t.stage, t.currency, func.sum(t.deals), func.sum(t.cents), func.sum(t.weighted))
            .where(t.stage.in_(rules.OPEN_STAGES)).group_by(t.stage, t.currency))
    if currency:
        stmt = stmt.where(t.currency == currency)
    rows = session.execute(scoped(stmt, t.owner_id, owner_id, team)).all()
    figures = Figures(session, currency, base)
    counts = {}
    cents, weighted = _by((r[0], r[1], r[3]) for r in rows), _by((r[0], r[1], r[4]) for r in rows)
    for stage, _currency, deals, _c, _w in rows:
        counts[stage] = counts.get(stage, 0) + int(deals or 0)
    stages = [{"stage": name, "count": counts.get(name, 0), "amount": figures.money(cents.get(name, {})),
               "weighted_amount": figures.weighted(weighted.get(name, {}))} for name in rules.OPEN_STAGES]
    all_cents, all_weighted = _summed(cents), _summed(weighted)
    totals = {"count": sum(counts.values()), "amount": figures.money(all_cents),
              "weighted_amount": figures.weighted(all_weighted)}
    return {"currency": figures.currency, "stages": stages, "totals": totals, "rates": figures.rates_used()}


def _summed(by_key: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for parts in by_key.values():
        for currency, value in parts.items():
            out[currency] = out.get(currency, 0) + value
    return out


def forecast(session, *, period: str, owner_id: str | None = None, team: str | None = None,
             currency: str | None = None, base: str = "EUR") -> dict:
    """Deals whose close_date falls in the period (docs/opportunities.md, "Forecast")."""
    start, end = period_bounds(period)
    t = PipelineTotal
    open_ = t.stage.in_(rules.OPEN_STAGES)

    def total(condition, value=t.cents):
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    stmt = select(
        t.currency,
        total(t.stage == "closed_won"),
        total(and_(open_, t.forecast_category == "commit")),
        total(and_(open_, t.forecast_category == "best_case")),
        total(and_(open_, t.forecast_category == "pipeline")),
        total(and_(open_, t.forecast_category != "omitted"), t.weighted),
    ).where(t.month >= rules.month_of(start), t.month <= rules.month_of(end)).group_by(t.currency)
    quota_stmt = (select(Quota.currency, func.coalesce(func.sum(cast(func.round(Quota.amount * 100), BigInteger)), 0))
                  .where(Quota.period == period).group_by(Quota.currency))
    if currency:
        stmt, quota_stmt = stmt.where(t.currency == currency), quota_stmt.where(Quota.currency == currency)
    rows = session.execute(scoped(stmt, t.owner_id, owner_id, team)).all()
    quotas = {c: int(v or 0) for c, v in session.execute(scoped(quota_stmt, Quota.user_id, owner_id, team))}
    column = lambda i: {r[0]: int(r[i] or 0) for r in rows}  # noqa: E731
    figures = Figures(session, currency, base)
    quota, closed_won = figures.money(quotas), figures.money(column(1))
    return {"period": period, "period_start": start, "period_end": end, "currency": figures.currency,
            "quota": quota, "closed_won": closed_won, "commit": figures.money(column(2)),
            "best_case": figures.money(column(3)), "pipeline": figures.money(column(4)),
            "weighted_pipeline": figures.weighted(column(5)),
            "attainment": rules.attainment(closed_won["amount"], quota["amount"]), "rates": figures.rates_used()}


def period_bounds(period: str) -> tuple[date, date]:
    try:
        return rules.parse_period(period)
    except rules.BadPeriod as exc:
        raise Invalid(str(exc), errors={"period": [str(exc)]}) from None
