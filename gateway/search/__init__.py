"""Search across accounts, contacts, deals, cases and activities (CONTRACTS §9):
one index in the gateway, kept from the event stream. See docs/search.md."""
from __future__ import annotations

from shared.normalize import DEFAULT_PHONE_REGION

from gateway.search.documents import TYPES, changes_of
from gateway.search.index import index_for
from gateway.search.query import parse


def record(event: dict, uow, region: str = DEFAULT_PHONE_REGION) -> None:
    """Handler for every event: apply what it changes in the index (most change nothing)."""
    changes = changes_of(event, region)
    if changes:
        index = index_for(uow.db)
        for change in changes:
            index.apply(uow.session, change)


def search(db, session, q: str | None, types: str | None, limit: int | None,
           region: str = DEFAULT_PHONE_REGION) -> list[dict]:
    """The records that match ``q``, best first (422 for bad parameters)."""
    return index_for(db).search(session, parse(q, types, limit, region))


__all__ = ["TYPES", "record", "search"]
