"""The iCalendar (RFC 5545) feed of a user's planned activities.

Timed activities (with starts_at) are VEVENTs in UTC; those with only a due
date (tasks, call-backs) are all-day VEVENTs on the due date (UTC), because
calendar apps subscribed to a feed show events and mostly ignore VTODO.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Iterable, Mapping

import icalendar

from services.activities.rules import calendar_span, type_label

PRODID = "-//Cadena//Activities 1.0//EN"
UID_DOMAIN = "activities.cadena"


def uid(activity_id: str) -> str:
    return f"{activity_id}@{UID_DOMAIN}"


def _description(activity, labels: Mapping[str, str]) -> str:
    lines = []
    for field, title in (("account_id", "Account"), ("contact_id", "Contact"),
                         ("opportunity_id", "Opportunity"), ("case_id", "Case")):
        value = getattr(activity, field)
        if value:
            lines.append(f"{title}: {labels.get(value) or value}")
    if activity.due_at is not None:
        lines.append(f"Due: {activity.due_at.strftime('%Y-%m-%d %H:%M')} UTC")
    if activity.notes:
        lines.append("")
        lines.append(activity.notes)
    return "\n".join(lines)


def event_for(activity, labels: Mapping[str, str], addresses: Mapping[str, str]) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid(activity.id))
    # The time this version of the activity was made: stable between fetches.
    event.add("dtstamp", activity.updated_at)
    event.add("created", activity.created_at)
    event.add("last-modified", activity.updated_at)
    event.add("sequence", max(activity.version - 1, 0))
    event.add("summary", activity.subject if activity.type != "task" else f"{type_label('task')}: {activity.subject}")
    span = calendar_span(activity.type, activity.starts_at, activity.ends_at)
    if span is not None:
        event.add("dtstart", span[0])
        event.add("dtend", span[1])
    else:  # only a due date: an all-day entry on that day
        day = activity.due_at.date()
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    description = _description(activity, labels)
    if description:
        event.add("description", description)
    location = activity.location
    if not location and activity.type == "visit" and activity.account_id:
        location = addresses.get(activity.account_id) or labels.get(activity.account_id)
    if location:
        event.add("location", location)
    event.add("status", "CONFIRMED")
    event.add("categories", [type_label(activity.type).upper()])
    if activity.remind_at is not None:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", activity.subject)
        alarm.add("trigger", activity.remind_at, parameters={"VALUE": "DATE-TIME"})
        event.add_component(alarm)
    return event


def build_calendar(name: str, activities: Iterable, labels: Mapping[str, str] | None = None,
                   addresses: Mapping[str, str] | None = None) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    for activity in activities:
        cal.add_component(event_for(activity, labels or {}, addresses or {}))
    return cal.to_ical()
