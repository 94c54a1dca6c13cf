"""The customer timeline: a view over the event history (gateway/history.py)
of the events that concern one account, newest first, each with a line a
person reads. Kept from the bus, so it is complete even while a service is
down."""
from __future__ import annotations

from gateway import history
from gateway.history import account_of  # noqa: F401  (where readers of the timeline look for it)

VERBS = {
    "created": "created", "updated": "updated", "deleted": "deleted", "won": "won", "lost": "lost",
    "completed": "completed", "opened": "opened", "resolved": "resolved", "closed": "closed",
    "launched": "launched", "responded": "responded", "lifecycle_changed": "changed lifecycle stage",
    "stage_changed": "moved stage", "sla_breached": "breached its SLA", "satisfaction_rated": "was rated",
    "reminder_due": "reminder due",
}


def _money(value) -> str:
    if isinstance(value, dict) and "amount" in value:
        return f" ({value['amount']} {value.get('currency', '')})".rstrip()
    return ""


def summarize(event: dict) -> str:
    """A line a person reads: what, which one, and the figure that matters."""
    service, aggregate, verb = (event["type"].split(".") + ["", "", ""])[:3]
    data = event.get("data") or {}
    label = (data.get("name") or data.get("subject") or
             " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p) or
             (f"#{data['number']}" if data.get("number") else ""))
    text = f"{aggregate.replace('_', ' ').capitalize()} {('“' + label + '” ') if label else ''}{VERBS.get(verb, verb.replace('_', ' '))}"
    if verb == "lifecycle_changed":
        text += f": {data.get('from')} → {data.get('to')}"
    elif verb == "stage_changed":
        text += f": {data.get('from_stage')} → {data.get('stage')}"
    elif verb == "satisfaction_rated":
        text += f" {data.get('score')}/5"
    elif verb == "sla_breached":
        text += f" ({data.get('target', '').replace('_', ' ')})"
    elif verb in ("won", "lost", "created"):
        text += _money(data.get("amount"))
    return text


def page(session, account_id: str, limit: int, cursor: str | None):
    query = history.Query(account_id=str(account_id))
    rows, next_cursor = history.page(session, query, limit=limit, cursor=cursor, newest_first=True)
    return [item(row.body) for row in rows], next_cursor


def item(event: dict) -> dict:
    return {"id": event["id"], "type": event["type"], "time": history.event_time(event),
            "service": event["type"].split(".", 1)[0], "subject": event.get("subject"),
            "summary": summarize(event), "data": event.get("data") or {}}
