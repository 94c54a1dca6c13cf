"""The pipeline_totals buckets: what every deal contributes to the pipeline
and the forecast, applied as a delta in the deal's own transaction.

Each use case notes a deal's contribution before and after its change and
calls :func:`track`; the buckets it touches are updated in key order, so
two transactions never wait on each other in opposite orders. The totals
can always be rebuilt from the deals (:func:`rebuild`) and the tests check
that the two agree.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, cast, delete, func, insert, select
from shared.db import dialect_of

from services.opportunities.models import Opportunity, PipelineTotal

Key = tuple[str, str, str, str, str]  # owner_id, currency, month, stage, forecast_category
Values = tuple[int, int, int]         # deals, cents, cents × probability


def cents_of(amount) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def contribution(opp: Opportunity) -> tuple[Key, Values] | None:
    if opp.deleted_at is not None:
        return None
    cents = cents_of(opp.amount)
    key = (opp.owner_id, opp.currency, opp.close_date.strftime("%Y-%m"), opp.stage, opp.forecast_category)
    return key, (1, cents, cents * int(opp.probability))


def track(session, *changes: tuple[tuple[Key, Values] | None, tuple[Key, Values] | None]) -> None:
    """Apply (before, after) contributions of one or more deals."""
    deltas: dict[Key, list[int]] = {}
    for before, after in changes:
        for part, sign in ((before, -1), (after, 1)):
            if part is None:
                continue
            key, values = part
            total = deltas.setdefault(key, [0, 0, 0])
            for i, v in enumerate(values):
                total[i] += sign * v
    dialect = dialect_of(session)
    for key in sorted(deltas):
        deals, cents, weighted = deltas[key]
        if deals == cents == weighted == 0:
            continue
        owner_id, currency, month, stage, category = key
        stmt = dialect.insert(PipelineTotal).values(owner_id=owner_id, currency=currency, month=month, stage=stage,
                                                    forecast_category=category, deals=deals, cents=cents,
                                                    weighted=weighted)
        stmt = stmt.on_conflict_do_update(
            index_elements=[PipelineTotal.owner_id, PipelineTotal.currency, PipelineTotal.month, PipelineTotal.stage,
                            PipelineTotal.forecast_category],
            set_={"deals": PipelineTotal.deals + stmt.excluded.deals,
                  "cents": PipelineTotal.cents + stmt.excluded.cents,
                  "weighted": PipelineTotal.weighted + stmt.excluded.weighted})
        session.execute(stmt)


def from_deals(session):
    """The buckets computed from the deals themselves (GROUP BY): the reference the deltas must match."""
    if session.get_bind().dialect.name == "postgresql":
        month = func.to_char(Opportunity.close_date, "YYYY-MM")
    else:
        month = func.strftime("%Y-%m", Opportunity.close_date)
    cents = cast(func.round(Opportunity.amount * 100), BigInteger)
    return (select(Opportunity.owner_id, Opportunity.currency, month.label("month"), Opportunity.stage,
                   Opportunity.forecast_category, func.count().label("deals"), func.sum(cents).label("cents"),
                   func.sum(cents * Opportunity.probability).label("weighted"))
            .where(Opportunity.deleted_at.is_(None))
            .group_by(Opportunity.owner_id, Opportunity.currency, month, Opportunity.stage,
                      Opportunity.forecast_category))


def rebuild(session) -> None:
    """Recompute every bucket from the deals (repair tool; the caller commits)."""
    session.execute(delete(PipelineTotal))
    query = from_deals(session)
    session.execute(insert(PipelineTotal).from_select(
        ["owner_id", "currency", "month", "stage", "forecast_category", "deals", "cents", "weighted"], query))
