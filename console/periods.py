"""Periods the console asks about: forecast periods (a quarter like 2026-Q4
or a month like 2026-11, as the API names them) and agenda weeks."""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

from flask_babel import format_date, gettext as _

PERIOD = re.compile(r"^(?P<year>\d{4})-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2]))$")


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def bounds(period: str) -> tuple[date, date] | None:
    """First and last day of a period (both included), or None if it is not one."""
    found = PERIOD.match(period or "")
    if not found:
        return None
    year = int(found["year"])
    if found["quarter"]:
        first = (int(found["quarter"]) - 1) * 3 + 1
        last = first + 2
    else:
        first = last = int(found["month"])
    return date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])


def period_label(period: str) -> str:
    found = PERIOD.match(period or "")
    if not found:
        return period
    if found["quarter"]:
        return _("Q%(quarter)s %(year)s", quarter=found["quarter"], year=found["year"])
    return format_date(date(int(found["year"]), int(found["month"]), 1), "LLLL y")


def period_options(today: date) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per year (last, this and next): its quarters, then its months."""
    groups = []
    for year in (today.year - 1, today.year, today.year + 1):
        codes = [f"{year}-Q{q}" for q in range(1, 5)] + [f"{year}-{m:02d}" for m in range(1, 13)]
        groups.append((str(year), [(code, period_label(code)) for code in codes]))
    return groups


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def localized(zone, day: date) -> datetime:
    """Midnight of a day in the console's time zone."""
    return zone.localize(datetime.combine(day, datetime.min.time()))
