"""The customer timeline: a view over the event history (gateway/history.py)
of the events that concern one account, newest first, each with a line a
person reads. Kept from the bus, so it is complete even while a service is
down.

A merged account's events stay as they were recorded and show under its
survivor (and under the survivor's survivor, should that be merged in turn):
``account_merges`` remembers who was merged into whom, so an event about a
merged account that arrives late still shows on the survivor's timeline."""
from __future__ import annotations

from sqlalchemy import select

from shared.db import dialect_of
from shared.merges import merged_ids

from gateway import history
from gateway.history import account_of  # noqa: F401  (where readers of the timeline look for it)
from gateway.models import AccountMerge

VERBS = {
    "created": "created", "updated": "updated", "deleted": "deleted", "won": "won", "lost": "lost",
    "completed": "completed", "opened": "opened", "resolved": "resolved", "closed": "closed",
    "launched": "launched", "responded": "responded", "lifecycle_changed": "changed lifecycle stage",
    "stage_changed": "moved stage", "sla_breached": "breached its SLA", "satisfaction_rated": "was rated",
    "reminder_due": "reminder due", "merged": "merged",
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


def on_account_merged(event: dict, uow) -> None:
    """accounts.account.merged: remember who survived, and keep the event itself."""
    survivor, merged = merged_ids(event)
    time = history.event_time(event)
    dialect = dialect_of(uow.db)
    uow.session.execute(dialect.insert(AccountMerge).values(
        [{"merged_id": m, "survivor_id": survivor, "merged_at": time} for m in merged]
    ).on_conflict_do_nothing(index_elements=["merged_id"]))
    history.record(event, uow)


def survivor_of(session, account_id: str) -> str | None:
    """The account a merged one now lives on as (None when it was not merged)."""
    survivor, seen = None, set()
    current = str(account_id)
    while current not in seen:
        seen.add(current)
        row = session.get(AccountMerge, current)
        if row is None:
            break
        survivor = current = row.survivor_id
    return survivor


def accounts_of(session, account_id: str) -> frozenset[str]:
    """The account and every account merged into it (at any depth)."""
    ids = frontier = {str(account_id)}
    while frontier:
        found = set(session.scalars(select(AccountMerge.merged_id).where(AccountMerge.survivor_id.in_(frontier))))
        frontier = found - ids
        ids = ids | frontier
    return frozenset(ids)


def page(session, account_id: str, limit: int, cursor: str | None):
    query = history.Query(account_ids=accounts_of(session, account_id))
    rows, next_cursor = history.page(session, query, limit=limit, cursor=cursor, newest_first=True)
    return [item(row.body) for row in rows], next_cursor


def item(event: dict) -> dict:
    return {"id": event["id"], "type": event["type"], "time": history.event_time(event),
            "service": event["type"].split(".", 1)[0], "subject": event.get("subject"),
            "summary": summarize(event), "data": event.get("data") or {}}
