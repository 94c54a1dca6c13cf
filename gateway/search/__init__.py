"""Search across accounts, contacts, deals, cases and activities (CONTRACTS §9):
one index in the gateway, kept from the event stream. See docs/search.md."""
from __future__ import annotations

from shared.normalize import DEFAULT_PHONE_REGION

from gateway.search.documents import TYPES, changes_of
from gateway.search.index import index_for
from gateway.search.query import parse


def record(event: dict, uow, region: str = DEFAULT_PHONE_REGION) -> None:
    """Handler for every event: apply what it changes in the index (most change nothing)."""
    record_many([event], uow, region)


def record_many(events: list[dict], uow, region: str = DEFAULT_PHONE_REGION) -> None:
    """:func:`record` of each event in order (consecutive documents written together)."""
    changes = [change for event in events for change in changes_of(event, region)]
    if changes:
        index_for(uow.db).apply_many(uow.session, changes)


def search(db, session, q: str | None, types: str | None, limit: int | None,
           region: str = DEFAULT_PHONE_REGION) -> list[dict]:
    """The records that match ``q``, best first (422 for bad parameters)."""
    return index_for(db).search(session, parse(q, types, limit, region))


__all__ = ["TYPES", "record", "record_many", "search"]
