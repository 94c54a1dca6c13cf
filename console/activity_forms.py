"""What the activity forms share (the 360's "log a call", the agenda's plan,
log, complete and reschedule): how typed times and agreements become what
the API expects, and a call recorded as create-then-complete."""
from __future__ import annotations

from datetime import datetime

from console.auth import user_api
from console.forms import Field
from console.i18n import parse_time
from console.views import local_now, zone

CLOSING = ("outcome", "notes", "agreements")


def local_time(value: str | None):
    """A time typed in a datetime-local box (the console's time zone) as the
    API's aware ISO time; anything unreadable goes as typed, so the API names
    the problem beside the field."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        typed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (typed if typed.tzinfo else zone().localize(typed)).isoformat()


def typed_time(value) -> str:
    """An API time as a datetime-local box shows it, in the console's zone."""
    parsed = parse_time(value) if value else None
    return parsed.astimezone(zone()).strftime("%Y-%m-%dT%H:%M") if parsed else ""


def agreements(text: str | None):
    """One agreement per line becomes a list, the shape the API keeps as given."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines or None


CALL_FIELDS = [Field("subject"), Field("contact_id"), Field("outcome"), Field("notes"),
               Field("agreements", agreements)]
COMPLETE_FIELDS = [Field("outcome"), Field("notes"), Field("agreements", agreements)]


def record_call(body: dict, idempotency_key: str | None) -> dict:
    """A call that happened, with its outcome, minutes and agreements, in one
    request: created as done (CONTRACTS §11), so the API checks everything
    before anything exists and publishes it created and completed at once."""
    body = {**body, "type": "call", "status": "done", "starts_at": body.get("starts_at") or local_now().isoformat()}
    return user_api().post("/activities", body, idempotency_key=idempotency_key or None).data
