"""Import jobs (CONTRACTS §9): the service that owns a kind of record owns
its imports. The web process checks the request and stores the file in
``imports``; the worker's job runs it a batch at a time.

Each batch is one transaction: the records it writes, their events (the
outbox), the rows it refused (``import_errors``), what it created
(``import_records``, for undo) and the job's progress. A crash leaves
whole batches only, and the next run starts after the last one committed;
a worker that resumes a job first checks, under the job's row lock, that
the progress is the one it read (so two workers never apply a batch twice).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy import (JSON, Boolean, Column, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table, Text,
                        func, insert, or_, select, update)

from shared.auth import Principal
from shared.bulk_insert import insert_rows
from shared.db import UTCDateTime, utcnow
from shared.import_csv import Layout, Spec, rows
from shared.observability import get_logger

BATCH = 500
STALE = timedelta(seconds=60)  # a running job whose worker has not committed a batch for this long is taken over
UNDO_WINDOW = timedelta(hours=24)
SHOWN_ERRORS = 1000

log = get_logger("cadena.imports")


@dataclass(frozen=True)
class ImportTables:
    imports: Table
    errors: Table
    records: Table


def import_tables(metadata: MetaData) -> ImportTables:
    imports = Table(
        "imports", metadata,
        Column("id", String(36), primary_key=True),
        Column("kind", String(20), nullable=False),
        Column("status", String(10), nullable=False, default="pending"),  # pending|running|done|failed
        Column("dry_run", Boolean, nullable=False, default=False),
        Column("match", String(50), nullable=True),
        Column("header", JSON, nullable=False),
        Column("targets", JSON, nullable=False),
        Column("delimiter", String(1), nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("importer_id", String(36), nullable=False),
        Column("importer_role", String(20), nullable=False),
        Column("importer_team", String(100), nullable=True),
        Column("total", Integer, nullable=False, default=0),
        Column("processed", Integer, nullable=False, default=0),
        Column("created", Integer, nullable=False, default=0),
        Column("updated", Integer, nullable=False, default=0),
        Column("failed", Integer, nullable=False, default=0),
        Column("failure", Text, nullable=True),
        Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        Column("started_at", UTCDateTime, nullable=True),
        Column("heartbeat_at", UTCDateTime, nullable=True),
        Column("finished_at", UTCDateTime, nullable=True),
        Column("undone_at", UTCDateTime, nullable=True),
    )
    Index("ix_imports_status", imports.c.status, imports.c.created_at)
    errors = Table(
        "import_errors", metadata,
        Column("import_id", ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True),
        Column("row", Integer, primary_key=True, autoincrement=False),
        Column("errors", JSON, nullable=False),
        Column("cells", JSON, nullable=False),
    )
    records = Table(
        "import_records", metadata,
        Column("import_id", ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True),
        Column("record_id", String(36), primary_key=True),
    )
    return ImportTables(imports, errors, records)


# -- what a kind of record provides ----------------------------------------------------

@dataclass
class Row:
    number: int                # in the file; the header is row 1
    cells: list[str]           # as written (for errors.csv)
    data: dict                 # the fields it gives, validated
    key: str | None = None     # its match column's value, as written


@dataclass
class Outcome:
    """What a batch did (or, in a dry run, would do)."""

    created: list[str] = field(default_factory=list)
    updated: int = 0
    errors: list[tuple[Row, dict[str, list[str]]]] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    dry_run: bool
    match: str | None
    importer: Principal
    default_currency: str
    # match keys and unique values met so far in this run: a repeat names its
    # first row however the file falls into batches (and in a dry run too)
    seen: dict = field(default_factory=dict, compare=False)


class Kind(Protocol):
    name: str           # accounts | contacts | opportunities
    record: str         # account | contact | opportunity (permissions, OWNER_ROLES)
    spec: Spec
    match_fields: tuple[str, ...]

    def validate(self, data: dict) -> dict:
        """The row's fields checked (partial: what a row leaves empty it does not change); raises ValidationError."""

    def apply(self, uow, job: Job, batch: list[Row]) -> Outcome:
        """Create or update the batch's records and publish their events (nothing written in a dry run)."""

    def undo(self, uow, ids: list[str]) -> int:
        """Soft-delete these records that are still live, publishing their .deleted events."""


# -- the job ------------------------------------------------------------------------------

def claim(db, tables: ImportTables) -> dict | None:
    """The oldest import waiting (or abandoned by a worker that stopped), now ours."""
    t = tables.imports
    now = utcnow()
    with db.transaction() as uow:
        stmt = (select(t.c.id, t.c.processed).where(or_(t.c.status == "pending", (t.c.status == "running")
                                                         & (t.c.heartbeat_at < now - STALE)))
                .order_by(t.c.created_at).limit(1))
        if db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        row = uow.session.execute(stmt).first()
        if row is None:
            return None
        uow.session.execute(update(t).where(t.c.id == row.id).values(
            status="running", heartbeat_at=now, started_at=func.coalesce(t.c.started_at, now)))
        job = uow.session.execute(select(t).where(t.c.id == row.id)).mappings().one()
    return dict(job)


def run_pending(db, tables: ImportTables, kinds: dict[str, Kind], default_currency: str, batch: int = BATCH) -> int:
    """Run every import waiting, one after the other; returns how many ran."""
    ran = 0
    while (job := claim(db, tables)) is not None:
        run(db, tables, kinds[job["kind"]], job, default_currency, batch)
        ran += 1
    return ran


def run(db, tables: ImportTables, kind: Kind, stored: dict, default_currency: str, batch: int = BATCH) -> None:
    job = Job(stored["id"], stored["kind"], stored["dry_run"], stored["match"],
              Principal(id=stored["importer_id"], role=stored["importer_role"], team=stored["importer_team"]),
              default_currency)
    lay = Layout(stored["header"], stored["targets"], stored["delimiter"])
    done = stored["processed"]
    pending: list = []
    try:
        for item in rows(stored["body"].decode("utf-8-sig"), lay, skip=done):
            pending.append(item)
            if len(pending) == batch:
                done = _run_batch(db, tables, kind, job, pending, done)
                pending = []
        done = _run_batch(db, tables, kind, job, pending, done, last=True)
    except _Overtaken:
        log.info("import_overtaken", import_id=job.id)
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            raise  # the database is away: the job stays running and is taken over once stale
        log.exception("import_failed", import_id=job.id, row=done + 2)
        with db.transaction() as uow:
            uow.session.execute(update(tables.imports).where(tables.imports.c.id == job.id).values(
                status="failed", finished_at=utcnow(), body=b"",
                failure=f"Stopped at data row {done + 1} by an internal error ({type(exc).__name__})."))


class _Overtaken(Exception):
    """Another worker took this job over (ours looked stale): leave it to them."""


def _run_batch(db, tables: ImportTables, kind: Kind, job: Job, items: list, done: int, last: bool = False) -> int:
    t = tables.imports
    with db.transaction() as uow:
        stmt = select(t.c.processed, t.c.status).where(t.c.id == job.id)
        current = uow.session.execute(stmt.with_for_update() if db.is_postgres else stmt).first()
        if current is None or current.processed != done or current.status != "running":
            raise _Overtaken()
        valid, refused = _validated(kind, job, items)
        outcome = kind.apply(uow, job, valid) if valid else Outcome()
        errors = refused + outcome.errors
        if errors:
            uow.session.execute(insert(tables.errors), [
                {"import_id": job.id, "row": r.number, "errors": e, "cells": r.cells} for r, e in errors])
        if outcome.created and not job.dry_run:
            insert_rows(uow.session, tables.records, [{"import_id": job.id, "record_id": i} for i in outcome.created])
        values = dict(processed=t.c.processed + len(items), created=t.c.created + len(outcome.created),
                      updated=t.c.updated + outcome.updated, failed=t.c.failed + len(errors), heartbeat_at=utcnow())
        if last:  # the file is not needed any more (errors.csv keeps the refused rows' cells)
            values.update(status="done", finished_at=utcnow(), body=b"")
        uow.session.execute(update(t).where(t.c.id == job.id).values(**values))
    return done + len(items)


def _validated(kind: Kind, job: Job, items: list) -> tuple[list[Row], list[tuple[Row, dict]]]:
    from marshmallow import ValidationError

    from shared.http import flatten_errors

    valid, refused = [], []
    for number, cells, named in items:
        if named is None:
            refused.append((Row(number, cells, {}), {"row": ["More cells than the header has columns."]}))
            continue
        try:
            data = kind.validate(kind.spec.record(named, job.default_currency))
        except ValidationError as exc:
            refused.append((Row(number, cells, {}), flatten_errors(exc.messages)))
            continue
        valid.append(Row(number, cells, data, named.get(job.match) if job.match else None))
    return valid, refused
