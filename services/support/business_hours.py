"""Business hours for SLAs (CONTRACTS §11, docs/support.md): a calendar of
opening hours per weekday in a time zone, less the country's public holidays
(the `holidays` library), and the arithmetic that adds business seconds to a
moment. Pure functions, no I/O.

Time is counted in real elapsed seconds inside each day's window, so a day
whose clocks change (DST) is as long as it really is; a window boundary that
falls in a skipped or repeated local hour is read as the zone reads it
(fold 0).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
MAX_DAYS = 366 * 40  # a target of a year, one hour a day, still ends; beyond that the calendar is wrong


class BadCalendar(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Calendar:
    timezone: str
    hours: tuple[tuple[time, time] | None, ...]  # one per weekday, Monday first; None = closed
    holidays_country: str | None = None
    holidays_subdivision: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def as_dict(self) -> dict:
        hours = {day: [_hhmm(span[0]), _hhmm(span[1])] for day, span in zip(DAYS, self.hours) if span}
        return {"timezone": self.timezone, "hours": hours, "holidays_country": self.holidays_country,
                "holidays_subdivision": self.holidays_subdivision}


def _hhmm(moment: time) -> str:
    return "24:00" if moment == time.max else moment.strftime("%H:%M")


def _parse_time(text: str) -> time:
    if text == "24:00":
        return time.max
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _check_zone(name, errors: dict) -> None:
    try:
        if not isinstance(name, str) or not name or name != name.strip():
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        errors["calendar.timezone"] = ["Not an IANA time zone (e.g. Europe/Madrid)."]


def _check_hours(hours, errors: dict) -> tuple:
    spans: list[tuple[time, time] | None] = [None] * 7
    if not isinstance(hours, dict) or not hours:
        errors["calendar.hours"] = ['Give opening hours for at least one day, e.g. {"mon": ["09:00", "18:00"]}.']
        return tuple(spans)
    for day, span in hours.items():
        key = f"calendar.hours.{day}"
        if day not in DAYS:
            errors[key] = [f"Not a day: use {', '.join(DAYS)}."]
        elif not (isinstance(span, list) and len(span) == 2 and all(isinstance(t, str) and _HHMM.match(t)
                                                                     for t in span)):
            errors[key] = ['Two times, opening and closing, as "HH:MM" (e.g. ["09:00", "18:00"]).']
        elif _parse_time(span[0]) >= _parse_time(span[1]):
            errors[key] = ["The opening time must come before the closing time."]
        else:
            spans[DAYS.index(day)] = (_parse_time(span[0]), _parse_time(span[1]))
    return tuple(spans)


def _check_holidays(country, subdivision, errors: dict) -> None:
    if country is None:
        if subdivision is not None:
            errors["calendar.holidays_subdivision"] = ["Give holidays_country too."]
        return
    if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2}", country):
        errors["calendar.holidays_country"] = ["An ISO 3166-1 alpha-2 code, e.g. ES."]
        return
    supported = holidays.list_supported_countries()
    if country not in supported:
        errors["calendar.holidays_country"] = [f"No public holidays are known for {country}."]
    elif subdivision is not None and subdivision not in (supported[country] or ()):
        errors["calendar.holidays_subdivision"] = [f"Not a subdivision of {country} (e.g. "
                                                   f"{', '.join((supported[country] or ['—'])[:5])})."]


def parse_calendar(data) -> Calendar:
    """A calendar from its JSON form; BadCalendar with errors by field (calendar.timezone, …)."""
    if not isinstance(data, dict):
        raise BadCalendar({"calendar": ["An object with timezone, hours and holidays_country, or null."]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - {"timezone", "hours", "holidays_country", "holidays_subdivision"})
    for key in unknown:
        errors[f"calendar.{key}"] = ["Unknown field."]
    _check_zone(data.get("timezone"), errors)
    spans = _check_hours(data.get("hours"), errors)
    _check_holidays(data.get("holidays_country"), data.get("holidays_subdivision"), errors)
    if errors:
        raise BadCalendar(errors)
    return Calendar(data["timezone"], spans, data.get("holidays_country"), data.get("holidays_subdivision"))


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def is_holiday(calendar: Calendar, day: date) -> bool:
    if not calendar.holidays_country:
        return False
    return day in _holidays(calendar.holidays_country, calendar.holidays_subdivision, day.year)


def window(calendar: Calendar, day: date) -> tuple[datetime, datetime] | None:
    """The day's business window in UTC, or None when closed (a closed weekday or a holiday)."""
    span = calendar.hours[day.weekday()]
    if span is None or is_holiday(calendar, day):
        return None
    zone = calendar.zone
    start = datetime.combine(day, span[0], tzinfo=zone)
    end = (datetime.combine(day + timedelta(days=1), time(), tzinfo=zone) if span[1] == time.max
           else datetime.combine(day, span[1], tzinfo=zone))
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def add_business_seconds(start: datetime, seconds: int, calendar: Calendar | None) -> datetime:
    """The moment ``seconds`` of business time after ``start`` (24/7 without a calendar)."""
    if calendar is None:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    day = start.astimezone(calendar.zone).date()
    for _ in range(MAX_DAYS):
        span = window(calendar, day)
        if span is not None and start < span[1]:
            begin = max(start, span[0])
            available = span[1] - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)
    raise ValueError("the calendar has too little business time to reach the target")


def business_seconds_between(start: datetime, end: datetime, calendar: Calendar | None) -> int:
    """Business seconds from ``start`` to ``end`` (0 when end is not after start)."""
    if end <= start:
        return 0
    if calendar is None:
        return int((end - start).total_seconds())
    total = timedelta()
    day = start.astimezone(calendar.zone).date()
    last = end.astimezone(calendar.zone).date()
    while day <= last:
        span = window(calendar, day)
        if span is not None:
            begin, finish = max(start, span[0]), min(end, span[1])
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return int(total.total_seconds())
