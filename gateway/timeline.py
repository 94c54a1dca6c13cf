"""The customer timeline: every event that concerns an account, kept by the
gateway from the bus, so it is complete even while a service is down."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from shared.http import keyset_page

from gateway.models import TimelineEntry

VERBS = {
    "created": "created", "updated": "updated", "deleted": "deleted", "won": "won", "lost": "lost",
    "completed": "completed", "opened": "opened", "resolved": "resolved", "closed": "closed",
    "launched": "launched", "responded": "responded", "lifecycle_changed": "changed lifecycle stage",
    "stage_changed": "moved stage", "sla_breached": "breached its SLA", "satisfaction_rated": "was rated",
    "reminder_due": "reminder due",
}


def account_of(event: dict) -> str | None:
    data = event.get("data") or {}
    if event["type"].startswith("accounts.account."):
        return event.get("subject") or data.get("id")
    if data.get("account_id"):
        return str(data["account_id"])
    account = data.get("account")
    if isinstance(account, dict) and account.get("id"):
        return str(account["id"])
    return None


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


def record(event: dict, uow) -> None:
    """Handler for every event: keep the ones that concern an account."""
    account_id = account_of(event)
    if account_id is None:
        return
    time = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    dialect = postgresql if uow.db.is_postgres else sqlite
    uow.session.execute(dialect.insert(TimelineEntry).values(
        event_id=event["id"], account_id=account_id, type=event["type"], time=time,
        service=event["type"].split(".", 1)[0], subject=event.get("subject"), summary=summarize(event),
        data=event.get("data") or {},
    ).on_conflict_do_nothing(index_elements=["event_id"]))


def page(session, account_id: str, limit: int, cursor: str | None):
    stmt = select(TimelineEntry).where(TimelineEntry.account_id == str(account_id))
    rows, next_cursor = keyset_page(session, stmt, TimelineEntry.time, TimelineEntry.event_id,
                                    limit=limit, cursor=cursor, descending=True)
    items = [{"id": r.event_id, "type": r.type, "time": r.time, "service": r.service, "subject": r.subject,
              "summary": r.summary, "data": r.data} for r in rows]
    return items, next_cursor
