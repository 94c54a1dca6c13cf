"""The SLA calendar as stored (one row; none means 24/7)."""
from __future__ import annotations

from services.support.business_hours import Calendar, parse_calendar
from services.support.models import SlaCalendar

NAME = "default"


def current(session) -> Calendar | None:
    row = session.get(SlaCalendar, NAME)
    if row is None:
        return None
    return parse_calendar({"timezone": row.timezone, "hours": row.hours, "holidays_country": row.holidays_country,
                           "holidays_subdivision": row.holidays_subdivision})


def as_dict(session) -> dict | None:
    calendar = current(session)
    return calendar.as_dict() if calendar else None


def store(session, calendar: Calendar | None, actor_id: str) -> None:
    row = session.get(SlaCalendar, NAME, with_for_update=True)
    if calendar is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = SlaCalendar(name=NAME)
        session.add(row)
    data = calendar.as_dict()
    row.timezone, row.hours = data["timezone"], data["hours"]
    row.holidays_country, row.holidays_subdivision = data["holidays_country"], data["holidays_subdivision"]
    row.updated_by = actor_id
