"""Where a case stands against its SLA: the next target it must meet and
whether it is breached or close to it."""
from __future__ import annotations

from datetime import datetime, timedelta

from console.i18n import parse_time

NEAR = timedelta(hours=4)  # a case due within this is marked "near its SLA"
CLOSED = ("resolved", "closed")


def next_due(case: dict) -> str:
    """The next SLA target: first response until someone answered, then
    resolution ("9999" sorts a case without one last)."""
    return (case.get("resolution_due_at") if case.get("first_responded_at") else case.get("first_response_due_at")) \
        or "9999"


def sla_state(case: dict, now: datetime) -> str | None:
    """breached, near or ok; None once the case is resolved or closed."""
    if case.get("sla_breached"):
        return "breached"
    if case.get("status") in CLOSED:
        return None
    due = parse_time(next_due(case))
    if due is None:
        return "ok"
    if due <= now:
        return "breached"  # past due: the SLA job marks it within a minute
    return "near" if due - now <= NEAR else "ok"
