"""Fakes for handler tests (in the style of "Architecture Patterns with
Python"): a unit of work that keeps what a handler publishes in a list and
refuses to commit — the inbox, not the handler, ends the transaction."""
from __future__ import annotations

from shared.contracts import catalogue
from shared.db import new_id


class HandlerCommitted(AssertionError):
    pass


class FakeUnitOfWork:
    """A real session on the component's (SQLite) database; events recorded, not written."""

    def __init__(self, db):
        self.db = db
        self.session = None
        self.published: list[tuple[str, str | None, dict]] = []

    def __enter__(self) -> "FakeUnitOfWork":
        self.session = self.db.sessions()
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()
        self.session.close()

    def publish(self, routing_key: str, subject: str | None, data: dict, *, event_id: str | None = None) -> str:
        catalogue().check(routing_key, data)
        self.published.append((routing_key, subject, data))
        return event_id or new_id()

    def commit(self) -> None:
        raise HandlerCommitted("a handler committed; the inbox commits its window")

    def keep(self) -> None:
        """What the inbox does after the handlers of a window: commit them (test-side only)."""
        self.session.commit()


def event(routing_key: str, data: dict, subject: str | None = None, time: str = "2026-11-02T10:00:00Z") -> dict:
    return {"specversion": "1.0", "id": new_id(), "source": "test", "type": routing_key,
            "subject": subject or data.get("id"), "time": time, "datacontenttype": "application/json", "data": data}
