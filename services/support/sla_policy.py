"""Changing the SLA policy: targets per priority and the business-hours
calendar (CONTRACTS §4, §11). A changed calendar recomputes the due times of
open cases whose clock still runs; targets alone apply to new cases and
priority changes, as before."""
from __future__ import annotations

from sqlalchemy import select

from shared import history
from shared.auth import Principal
from shared.db import utcnow
from shared.http import Forbidden, Invalid

from services.support import business_hours, rules, sla_calendar
from services.support.models import Case, SlaPolicy
from services.support.service import case_data, sla_policy


def policy_out(session) -> dict:
    """The targets, and the calendar when there is one (24/7 shows no `calendar`, as before §11)."""
    calendar = sla_calendar.as_dict(session)
    return {**sla_policy(session), **({"calendar": calendar} if calendar else {})}


def _calendar(data: dict) -> business_hours.Calendar | None:
    try:
        return business_hours.parse_calendar(data["calendar"]) if data["calendar"] is not None else None
    except business_hours.BadCalendar as exc:
        raise Invalid("The calendar is not valid.", errors=exc.errors) from None


def put_policy(uow, actor: Principal, data: dict) -> dict:
    """Set the targets given (the others keep theirs) and, when ``calendar`` is
    present, the calendar (null: 24/7 again). No commit: the caller's transaction."""
    if actor.role not in ("admin", "manager"):
        raise Forbidden("Only an admin or a manager may change the SLA policy.")
    session = uow.session
    before = {"policy": sla_policy(session), "calendar": policy_out(session).get("calendar")}
    calendar = _calendar(data) if "calendar" in data else None
    for priority in rules.PRIORITIES:
        if priority not in data:
            continue
        row = session.get(SlaPolicy, priority, with_for_update=True)
        if row is None:
            row = SlaPolicy(priority=priority)
            session.add(row)
        row.first_response_seconds = data[priority]["first_response_seconds"]
        row.resolution_seconds = data[priority]["resolution_seconds"]
        row.updated_by = actor.id
    session.flush()
    _reachable(sla_policy(session), calendar if "calendar" in data else sla_calendar.current(session))
    if "calendar" in data and sla_calendar.current(session) != calendar:
        sla_calendar.store(session, calendar, actor.id)
        session.flush()
        recompute_open_cases(uow, calendar)
    answer = policy_out(session)
    after = {"policy": sla_policy(session), "calendar": answer.get("calendar")}
    history.updated(uow, "support.sla_policy.updated", None, {**after, "updated_by": actor.id}, before=before,
                    after=after)
    return answer


def _reachable(policy: dict, calendar: business_hours.Calendar | None) -> None:
    """Every target must end within the arithmetic's horizon (a calendar of a minute a
    week cannot hold a target of a year)."""
    if calendar is None:
        return
    longest = max(targets["resolution_seconds"] for targets in policy.values())
    try:
        business_hours.add_business_seconds(utcnow(), longest, calendar)
    except ValueError:
        raise Invalid("The calendar has too little business time for the longest target.",
                      errors={"calendar.hours": ["Too few opening hours to reach the longest target "
                                                 f"({longest} business seconds) within 40 years."]}) from None


def recompute_open_cases(uow, calendar: business_hours.Calendar | None) -> int:
    """New due times for every open case's running, unbreached targets (from when it
    was opened, by the current targets); each changed case publishes support.case.updated."""
    session = uow.session
    policy = sla_policy(session)
    stmt = (select(Case).where(Case.deleted_at.is_(None), Case.status.in_(rules.OPEN_STATUSES))
            .order_by(Case.number))
    if uow.db.is_postgres:
        stmt = stmt.with_for_update()
    changed = 0
    for case in session.scalars(stmt).all():
        before = case_data(case)
        first, resolution = rules.due_times(case.created_at, policy, case.priority, calendar)
        if case.first_responded_at is None and case.first_response_breached_at is None:
            case.first_response_due_at = first
        if case.resolution_breached_at is None:
            case.resolution_due_at = resolution
        if session.is_modified(case):
            session.flush()
            history.updated(uow, "support.case.updated", case.id, case_data(case), before=before)
            changed += 1
    return changed
