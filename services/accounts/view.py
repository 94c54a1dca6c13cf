"""The account view: what other services' events say about a customer
(pipeline, won deals, cases, last activity) and the health score they give."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from shared.db import utcnow

from services.accounts.models import AccountView
from services.accounts import value
from services.accounts.service import get_account


def score_health(view: AccountView, now: datetime | None = None) -> tuple[int, str, list[str]]:
    """The health rule (docs/account-health.md): start at 100 and subtract
    for what hurts a relationship; every deduction names its reason."""
    now = now or utcnow()
    score, reasons = 100, []

    def deduct(points: int, reason: str) -> None:
        nonlocal score
        if points:
            score -= points
            reasons.append(f"-{points}: {reason}")

    deduct(min(view.open_cases * 5, 20), f"{view.open_cases} open case(s)")
    deduct(min(view.breached_cases * 15, 30), f"{view.breached_cases} case(s) breached their SLA")
    deduct(min(view.low_satisfaction * 15, 30), f"{view.low_satisfaction} low satisfaction rating(s)")
    if view.last_activity_at is None or now - view.last_activity_at > timedelta(days=90):
        deduct(20, "no activity in the last 90 days")
    score = max(0, min(100, score))
    risk = "low" if score >= 70 else "medium" if score >= 40 else "high"
    return score, risk, reasons


def account_view(session, account_id: str, default_currency: str = "EUR") -> dict:
    account = get_account(session, account_id)
    view = session.get(AccountView, account.id) or AccountView(
        account_id=account.id, currency=account.annual_revenue_currency or default_currency,
        open_cases=0, breached_cases=0, low_satisfaction=0, open_pipeline=Decimal("0"), won_total=Decimal("0"),
        won_deals=0)
    score, risk, reasons = score_health(view)
    return {
        "account_id": account.id,
        "open_cases": view.open_cases,
        "breached_cases": view.breached_cases,
        "low_satisfaction": view.low_satisfaction,
        "open_pipeline": {"amount": view.open_pipeline, "currency": view.currency},
        "won_total": {"amount": view.won_total, "currency": view.currency},
        "won_deals": view.won_deals,
        "last_activity_at": view.last_activity_at,
        "health_score": score,
        "churn_risk": risk,
        "health_reasons": reasons,
        **value.view_fields(session.get(AccountView, account.id)),
    }
