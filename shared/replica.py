"""The copies a service keeps of other contexts' records (read models fed by
their events), in one place: one version-guarded upsert, one tombstone, and
one read-through for a record whose event has not arrived yet.

- ``Replica(table).upsert(session, values)``: insert, or update a row whose
  version is not newer — events may arrive out of order and an older one
  never overwrites a newer one. ``deleted`` is final: an upsert never brings
  a deleted record back. Columns named in ``keep`` keep their value when the
  new one is missing (an event that carries less than the record).
- ``Replica.mark_deleted``: a tombstone, whether or not the record was known.
- ``held(session, model, key)``: the row a write is about to point to, held
  (FOR SHARE on Postgres) until the write commits, so a merge or deletion of
  that record handled meanwhile waits, and one handled before is seen.
- ``ReadThrough(owner, url).fetch(path, token)``: the record from its owner
  (the caller's token, a short timeout); ``None`` when the owner says there
  is none; when the owner cannot be asked, the one answer is 503
  ``owner-unavailable`` with Retry-After — never a false "does not exist".
"""
from __future__ import annotations

from typing import Callable, Iterable

from sqlalchemy import Table, func

from shared.db import dialect_of, utcnow
from shared.observability import get_logger
from shared.peer import PeerUnavailable, fetch_record, owner_unavailable

log = get_logger("cadena.replica")


def _insert(session, table: Table):
    dialect = dialect_of(session)
    return dialect.insert(table)


class Replica:
    """One table of copied records: ``key`` columns identify a record,
    ``version`` is the owner's version of it."""

    def __init__(self, table: Table, *, key: Iterable[str] = ("id",), version: str = "version",
                 keep: Iterable[str] = (), stamp: str | None = "updated_at"):
        self.table = table
        self.key = tuple(key)
        self.version = version
        self.keep = frozenset(keep)
        self.stamp = stamp
        self._statements: dict[tuple, object] = {}

    def handler(self, values: Callable[[dict], dict], doc: str):
        """An event handler that keeps the record ``values(event)`` gives,
        with its form for a run of events (``shared.inbox.in_runs``)."""
        from shared.inbox import in_runs

        def keep(event: dict, uow) -> None:
            self.upsert(uow.session, values(event))

        keep.__doc__ = doc
        return in_runs(lambda events, uow: self.upsert_many(uow.session, [values(e) for e in events]))(keep)

    def upsert(self, session, values: dict) -> None:
        """Apply a full record (event data or the owner's API), unless ours is newer."""
        self.upsert_many(session, [values])

    def upsert_many(self, session, records: list[dict]) -> None:
        """:meth:`upsert` of each record in order, sent together (one
        statement per set of columns, executed for all its records at once)."""
        stamp = utcnow()
        runs: list[tuple[tuple, list[dict]]] = []  # consecutive records with the same columns, in order
        for values in records:
            row = {"deleted": False, self.version: 0, **values}
            if self.stamp:
                row[self.stamp] = stamp
            if runs and runs[-1][0] == tuple(row):
                runs[-1][1].append(row)
            else:
                runs.append((tuple(row), [row]))
        dialect = dialect_of(session)
        for columns, rows in runs:
            session.execute(self._upsert_statement(dialect, columns), rows)

    def _upsert_statement(self, dialect, columns: tuple):
        """The upsert for one set of columns, built once (its parameters bound per record)."""
        cached = self._statements.get((dialect.__name__, columns))
        if cached is not None:
            return cached
        table = self.table
        stmt = dialect.insert(table)
        changes = {name: (func.coalesce(stmt.excluded[name], table.c[name]) if name in self.keep
                          else stmt.excluded[name])
                   for name in columns if name not in self.key and name != "deleted"}
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in self.key], set_=changes,
            where=func.coalesce(table.c[self.version], -1) <= stmt.excluded[self.version])
        self._statements[(dialect.__name__, columns)] = stmt
        return stmt

    def insert_missing(self, session, values: dict) -> None:
        """A partial record learnt before the full one (which, when it comes, overwrites it)."""
        values = {"deleted": False, self.version: None, **values}
        if self.stamp:
            values[self.stamp] = utcnow()
        session.execute(_insert(session, self.table).values(**values).on_conflict_do_nothing(
            index_elements=[self.table.c[k] for k in self.key]))

    def mark_deleted(self, session, key: dict, **known) -> None:
        """A tombstone: the record is gone for good, whatever arrives later."""
        values = {**known, **key, "deleted": True}
        values.setdefault(self.version, 0)
        if self.stamp:
            values[self.stamp] = utcnow()
        stmt = _insert(session, self.table).values(**values)
        changes = {"deleted": True}
        if self.stamp:
            changes[self.stamp] = values[self.stamp]
        session.execute(stmt.on_conflict_do_update(
            index_elements=[self.table.c[k] for k in self.key], set_=changes))


def held(session, model, key):
    """A replica row for a write that will point to it: on Postgres it is held
    FOR SHARE until the transaction ends, so the tombstone of a merge (or a
    deletion) handled at the same moment either is seen here or waits for this
    write and then re-points it — a new record never points to a merged one."""
    lock = {"read": True} if session.get_bind().dialect.name == "postgresql" else None
    return session.get(model, key, with_for_update=lock, populate_existing=lock is not None)


class ReadThrough:
    """Reads one record from the service that owns it, for a replica miss."""

    def __init__(self, owner: str, base_url: str, *, timeout: float = 2.0, connect_timeout: float = 1.0):
        self.owner = owner
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout

    def fetch(self, path: str, token: str | None, *, what: str, field: str | None = None,
              missing: tuple[int, ...] = (404, 410)) -> dict | None:
        """The record; None when its owner says there is none; 503
        owner-unavailable (raised) when the owner cannot be asked."""
        try:
            return fetch_record(self.base_url + path, token, timeout=self.timeout,
                                connect_timeout=self.connect_timeout, missing=missing)
        except PeerUnavailable as exc:
            log.warning("replica_read_through_failed", owner=self.owner, path=path.split("?")[0],
                        reason=exc.reason)
            errors = {field: ["Could not be verified yet; retry shortly."]} if field else None
            raise owner_unavailable(self.owner, what, exc.reason, errors=errors) from None

    def try_fetch(self, path: str, token: str | None) -> dict | None:
        """Best effort: the record, or None when there is none or the owner cannot be asked."""
        try:
            return fetch_record(self.base_url + path, token, timeout=self.timeout,
                                connect_timeout=self.connect_timeout)
        except PeerUnavailable as exc:
            log.warning("replica_read_through_failed", owner=self.owner, path=path.split("?")[0],
                        reason=exc.reason)
            return None
