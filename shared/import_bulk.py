"""The bulk path of an import: a batch of rows checked together (one query
per check, not one per row), the new records written at once
(``shared.bulk_insert``: COPY, or INSERT … ON CONFLICT DO NOTHING when a
record written meanwhile holds a unique value), the matched ones updated,
and every event written to the outbox in the same transaction
(``UnitOfWork.publish_many`` checks each against its contract). A dry run does all of it inside a
savepoint and rolls it back, so it finds exactly what the real run would.

A kind (services/<name>/imports.py) says how its rows become records:
:class:`BulkKind`'s hooks.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from shared.auth import Principal
from shared.bulk_insert import insert_rows
from shared.http import Problem
from shared.imports import Job, Outcome, Row

Errors = dict[str, list[str]]


class Owners:
    """Who may own what an import writes. The job runs without the
    importer's token, so users come from the service's replica alone."""

    def __init__(self, session, db, actor: Principal, record: str):
        self.session, self.db, self.actor, self.record = session, db, actor, record
        self.users: dict[str, Any] = {}

    def load(self, ids) -> None:
        users = self.db.tables.users
        wanted = [i for i in set(ids) if i and i not in self.users]
        if wanted:
            for user in self.session.execute(select(users).where(users.c.id.in_(wanted))).mappings():
                self.users[user["id"]] = user

    def may_own(self, owner_id: str) -> str | None:
        """Why the actor may not give a record this owner, or None."""
        if owner_id == self.actor.id:
            return None
        if self.actor.role not in ("admin", "manager"):
            return f"You may only import {self.record} records you own."
        user = self.users.get(owner_id)
        if user is None or not user["active"]:
            return "No active user with this id."
        if self.actor.role == "manager" and (not user["team"] or user["team"] != self.actor.team):
            return "Not someone in your team."
        return None

    def may_change(self, owner_id: str) -> str | None:
        if self.actor.is_admin or owner_id == self.actor.id:
            return None
        user = self.users.get(owner_id)
        if self.actor.role == "manager" and user is not None and user["team"] and user["team"] == self.actor.team:
            return None
        return f"This {self.record} belongs to someone else; you may not change it."


class BulkKind:
    """Hooks a kind fills in; :meth:`apply` is the batch."""

    name: str
    record: str
    model: Any
    match_fields: tuple[str, ...] = ("id",)
    unique: tuple[str, ...] = ()  # fields no two live records share (checked case-insensitively)

    # -- hooks ---------------------------------------------------------------------------
    def find(self, session, field: str, keys: list[str]) -> dict[str, list]:
        """Live records by match key (lower-cased), several when the key is ambiguous."""
        column = getattr(self.model, field)
        stmt = select(self.model).where(column.in_(keys) if field == "id" else _lower(column).in_(keys),
                                        self.model.deleted_at.is_(None))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=self.model)
        found: dict[str, list] = {}
        for obj in session.scalars(stmt):
            found.setdefault(str(getattr(obj, field)).lower(), []).append(obj)
        return found

    def check(self, session, job: Job, creates: list[Row], updates: list[tuple[Row, Any]]) -> dict[int, Errors]:
        """Kind rules over the batch (links to other records…): errors by row number."""
        return {}

    def create_errors(self, data: dict) -> Errors:
        """What a new record lacks (required fields)."""
        return {}

    def values(self, data: dict, job: Job, now) -> dict:
        """The table row of a new record."""
        raise NotImplementedError

    def created(self, uow, job: Job, rows: list[dict]) -> None:
        """Publish the .created events of new records (and keep any read model)."""
        raise NotImplementedError

    def update(self, uow, job: Job, obj, data: dict) -> None:
        """Change one matched record and publish its event; a rule it breaks raises a Problem."""
        raise NotImplementedError

    # -- the batch -------------------------------------------------------------------------
    def apply(self, uow, job: Job, batch: list[Row]) -> Outcome:
        out = Outcome()
        session = uow.session
        savepoint = session.begin_nested()
        try:
            creates, updates = self._split(session, job, batch, out)
            creates, updates = self._checked(session, uow.db, job, creates, updates, out)
            self._insert(uow, job, creates, out)
            for row, obj in updates:
                self._update_one(uow, job, row, obj, out)
        except Exception:
            savepoint.rollback()
            raise
        if job.dry_run:
            savepoint.rollback()
        else:
            savepoint.commit()
        return out

    def _update_one(self, uow, job: Job, row: Row, obj, out: Outcome) -> None:
        """One matched record, in a savepoint of its own: a rule it breaks
        half-way leaves it as it was."""
        savepoint = uow.session.begin_nested()
        try:
            self.update(uow, job, obj, row.data)
        except Problem as exc:
            savepoint.rollback()
            out.errors.append((row, exc.errors or {"row": [exc.detail]}))
            return
        except Exception:
            savepoint.rollback()
            raise
        savepoint.commit()
        out.updated += 1

    def _split(self, session, job: Job, batch: list[Row], out: Outcome):
        """Rows that create and rows that update (their match key finds one live record)."""
        if not job.match:
            return list(batch), []
        keys: dict[str, Row] = {}
        plain = []
        earlier = job.seen.setdefault(f"match:{job.match}", {})
        for row in batch:
            key = _key(row, job.match)
            if key is None:
                plain.append(row)
            elif key in earlier:
                out.errors.append((row, {job.match: [f"The same {job.match} as row {earlier[key]}."]}))
            elif job.match == "id" and not _is_uuid(key):
                out.errors.append((row, {"id": ["Not a valid id."]}))
            else:
                keys[key] = earlier[key] = row.number
        found = self.find(session, job.match, list(keys)) if keys else {}
        creates, updates = plain, []
        rows = {row.number: row for row in batch}
        for key, number in keys.items():
            row = rows[number]
            matches = found.get(key, [])
            if len(matches) > 1:
                out.errors.append((row, {job.match: [f"{len(matches)} live {self.record} records have this "
                                                     f"{job.match}; match on id instead."]}))
            elif matches:
                updates.append((row, matches[0]))
            elif job.match == "id":
                out.errors.append((row, {"id": [f"No {self.record} with this id."]}))
            else:
                creates.append(row)
        return creates, updates

    def _checked(self, session, db, job: Job, creates: list[Row], updates: list, out: Outcome):
        owners = Owners(session, db, job.importer, self.record)
        owners.load([r.data.get("owner_id") for r in creates] + [r.data.get("owner_id") for r, _ in updates]
                    + [o.owner_id for _, o in updates])
        errors: dict[int, Errors] = {}
        for row in creates:
            problem = owners.may_own(row.data.get("owner_id") or job.importer.id)
            _add(errors, row, self.create_errors(row.data), {"owner_id": [problem]} if problem else {})
        for row, obj in updates:
            problem = owners.may_change(obj.owner_id)
            if problem is None and row.data.get("owner_id") not in (None, obj.owner_id):
                problem = owners.may_own(row.data["owner_id"])
            _add(errors, row, {"owner_id": [problem]} if problem else {})
        self._unique(session, job, creates, updates, errors)
        for number, found in self.check(session, job, creates, updates).items():
            errors.setdefault(number, {}).update(found)
        out.errors += [(row, errors[row.number]) for row in creates if row.number in errors]
        out.errors += [(row, errors[row.number]) for row, _ in updates if row.number in errors]
        return ([r for r in creates if r.number not in errors],
                [(r, o) for r, o in updates if r.number not in errors])

    def _unique(self, session, job: Job, creates: list[Row], updates: list, errors: dict[int, Errors]) -> None:
        for field in self.unique:
            first = job.seen.setdefault(f"unique:{field}", {})
            column = getattr(self.model, field)
            wanted = [(r, None) for r in creates] + [(r, o.id) for r, o in updates]
            values = {str(r.data[field]).lower() for r, _ in wanted if r.data.get(field)}
            if not values:
                continue
            taken = dict(session.execute(select(_lower(column), self.model.id).where(
                _lower(column).in_(values), self.model.deleted_at.is_(None))).all())
            for row, own_id in wanted:
                value = str(row.data.get(field) or "").lower()
                if not value:
                    continue
                if value in first:
                    _add(errors, row, {field: [f"The same {field} as row {first[value]}."]})
                    continue
                first[value] = row.number
                if taken.get(value) not in (None, own_id):
                    _add(errors, row, {field: [f"Already used by {self.record} {taken[value]}."]})

    def _insert(self, uow, job: Job, creates: list[Row], out: Outcome) -> None:
        if not creates:
            return
        from shared.db import utcnow

        now = utcnow()
        rows = [self.values(r.data, job, now) for r in creates]
        table = self.model.__table__
        ids = [v["id"] for v in rows]
        written = insert_rows(uow.session, table, rows, skip_conflicts=True)
        if written == len(rows):
            inserted = set(ids)
        else:  # a record written meanwhile took a unique value: which rows made it?
            inserted = set(uow.session.scalars(select(table.c.id).where(table.c.id.in_(ids), table.c.created_at == now)))
        kept = []
        for row, values in zip(creates, rows):
            if values["id"] in inserted:
                kept.append(values)
            else:  # a record written meanwhile took a unique value
                out.errors.append((row, {f: ["Already used by another record."] for f in self.unique} or
                                   {"row": ["Could not be written."]}))
        self.created(uow, job, kept)
        out.created += [v["id"] for v in kept]


def _lower(column):
    from sqlalchemy import func

    return func.lower(column)


def _key(row: Row, field: str) -> str | None:
    value = row.data.get(field) if field != "id" else row.key
    value = value if value not in (None, "") else row.key
    return str(value).strip().lower() if value not in (None, "") else None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False


def _add(errors: dict[int, Errors], row: Row, *found: Errors) -> None:
    for item in found:
        for field, messages in item.items():
            errors.setdefault(row.number, {}).setdefault(field, []).extend(messages)
