"""The activity rules, pure (no I/O): what a valid activity is, which status
changes are allowed, when it happens on the agenda and when it is overdue.
See docs/activities.md."""
from __future__ import annotations

from datetime import datetime, timedelta

TYPES = ("call", "meeting", "visit", "email", "task")
STATUSES = ("planned", "done", "cancelled")
OPEN = "planned"

# Which time a type needs (any one of the fields listed).
REQUIRED_TIME: dict[str, tuple[str, ...]] = {
    "meeting": ("starts_at",),
    "visit": ("starts_at",),
    "call": ("starts_at", "due_at"),  # a call at a set time, or a call-back due by a date
    "task": ("due_at",),
    "email": (),  # an e-mail with no time is logged as sent when it is recorded
}

# How long a timed activity without ends_at lasts in the calendar feed.
DEFAULT_DURATION = {
    "call": timedelta(minutes=30),
    "meeting": timedelta(hours=1),
    "visit": timedelta(hours=1, minutes=30),
    "email": timedelta(minutes=15),
    "task": timedelta(minutes=30),
}

# status → statuses it may move to (same status = no change).
TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"done", "cancelled"}),
    "cancelled": frozenset({"planned"}),  # re-scheduled
    "done": frozenset(),  # final: its minutes may still be edited
}


def type_label(kind: str) -> str:
    return {"call": "Call", "meeting": "Meeting", "visit": "Visit", "email": "E-mail", "task": "Task"}.get(kind, kind)


def check_activity(values: dict) -> dict[str, list[str]]:
    """Errors of a whole activity (after defaults and, for PATCH, merged with
    the stored one), as ``{field: [message]}``; empty when valid."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    kind = values.get("type")
    if kind not in TYPES:
        add("type", f"Must be one of: {', '.join(TYPES)}.")
    else:
        needed = REQUIRED_TIME[kind]
        if needed and not any(values.get(f) for f in needed):
            if len(needed) == 1:
                add(needed[0], f"A {kind} needs {needed[0]}.")
            else:
                add(needed[0], f"A {kind} needs {' or '.join(needed)}.")
    if not values.get("subject"):
        add("subject", "An activity needs a subject.")
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if ends is not None:
        if starts is None:
            add("ends_at", "ends_at needs starts_at.")
        elif ends <= starts:
            add("ends_at", "Must be after starts_at.")
    if values.get("status", OPEN) not in STATUSES:
        add("status", f"Must be one of: {', '.join(STATUSES)}.")
    return errors


def transition_allowed(current: str, new: str) -> bool:
    return new == current or new in TRANSITIONS.get(current, frozenset())


def agenda_time(values: dict) -> datetime | None:
    """When an activity happens: its start, else its due date."""
    return values.get("starts_at") or values.get("due_at")


def is_overdue(status: str, due_at: datetime | None, now: datetime) -> bool:
    """Still open and past its due date."""
    return status == OPEN and due_at is not None and due_at < now


def calendar_span(kind: str, starts_at: datetime | None, ends_at: datetime | None):
    """(start, end) of a timed activity in a calendar, or None when it has no start."""
    if starts_at is None:
        return None
    return starts_at, ends_at or starts_at + DEFAULT_DURATION.get(kind, timedelta(minutes=30))


def in_window(agenda_at: datetime, ends_at: datetime | None, start: datetime, end: datetime) -> bool:
    """The agenda window [start, end): what happens in it, or is still going on at its start."""
    return agenda_at < end and (agenda_at >= start or (ends_at is not None and ends_at > start))

