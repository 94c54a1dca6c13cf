"""The imports API (CONTRACTS §9), served by each service that owns a kind
of record (accounts: accounts and contacts; opportunities: opportunities);
the gateway sends a POST by its ``kind`` and asks the owners about an id."""
from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass

from flask import Response, request
from flask.views import MethodView
from shared.web import Blueprint
from marshmallow import fields, validate
from sqlalchemy import delete, func, insert, select, update

from shared.auth import Principal, current_principal
from shared.db import new_id, utcnow
from shared.guard import writes
from shared.http import Conflict, Forbidden, Invalid, NotFound, UnsupportedMediaType
from shared.import_csv import CSV_TYPES, count_rows, decode, layout, parse_mapping
from shared.imports import BATCH, SHOWN_ERRORS, UNDO_WINDOW, ImportTables, Kind
from shared.schemas import Base, ProblemSchema
from shared.web import current_db

# Which service imports each kind (the gateway routes a POST by it).
IMPORT_KINDS = {"accounts": "accounts", "contacts": "accounts", "opportunities": "opportunities"}
RECORD_OF = {"accounts": "account", "contacts": "contact", "opportunities": "opportunity"}
STATUSES = ("pending", "running", "done", "failed")


class ImportArgs(Base):
    kind = fields.String(required=True, validate=validate.OneOf(IMPORT_KINDS))
    match = fields.String(metadata={"description": "A field whose value finds the live record a row updates "
                                                   "instead of creating one: `email` or `id` for contacts, "
                                                   "`tax_id` or `id` for accounts, `id` for opportunities."})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Check every row and count; change nothing."})
    mapping = fields.String(metadata={"description": 'JSON `{"csv column": "field"}` (null skips a column); '
                                                     "by default the header names the fields."})


class ImportCreated(Base):
    import_id = fields.String(required=True, metadata={"format": "uuid"})


class ImportRowError(Base):
    row = fields.Integer(metadata={"description": "The row in the file (the header is row 1)."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ImportOut(Base):
    id = fields.String(metadata={"format": "uuid"})
    kind = fields.String(validate=validate.OneOf(IMPORT_KINDS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    dry_run = fields.Boolean()
    match = fields.String(allow_none=True)
    total = fields.Integer(metadata={"description": "Data rows in the file."})
    processed = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    failed = fields.Integer()
    errors = fields.List(fields.Nested(ImportRowError),
                         metadata={"description": f"The first {SHOWN_ERRORS} refused rows; errors.csv has them all."})
    errors_truncated = fields.Boolean()
    failure = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    undo_until = fields.AwareDateTime(allow_none=True)
    undone_at = fields.AwareDateTime(allow_none=True)


CSV_BODY = {"required": True, "description": "The CSV file: UTF-8, a header row first.",
            "content": {"text/csv": {"schema": {"type": "string"}}}}
ERRORS_CSV = {"responses": {"200": {
    "description": "The refused rows: `row`, `errors`, then the file's own columns as written.",
    "content": {"text/csv": {"schema": {"type": "string"}}}}}}


@dataclass(frozen=True)
class Registry:
    """What a service imports: its tables and its kinds."""

    tables: ImportTables
    kinds: dict[str, Kind]


def _record_of_request() -> str | None:
    return RECORD_OF.get(request.args.get("kind", ""))


def _csv_body(view):
    """415 for a body that is not CSV, before its query is read (the order of checks)."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        if request.mimetype not in CSV_TYPES:
            raise UnsupportedMediaType(f"Send the file as 'Content-Type: text/csv' (got '{request.mimetype or 'none'}').")
        return view(*args, **kwargs)
    return checked


def blueprint(registry: Registry) -> Blueprint:
    blp = Blueprint("imports", __name__, url_prefix="/api/v1",
                    description="CSV imports of accounts, contacts and opportunities, run in the background")

    @blp.route("/imports")
    class Imports(MethodView):
        @writes(_record_of_request)
        @_csv_body
        @blp.arguments(ImportArgs, location="query")
        @blp.doc(requestBody=CSV_BODY)
        @blp.response(202, ImportCreated)
        @blp.alt_response(403, schema=ProblemSchema)
        @blp.alt_response(415, schema=ProblemSchema)
        @blp.alt_response(422, schema=ProblemSchema)
        def post(self, args):
            """Start an import of a CSV file; poll `GET /api/v1/imports/{id}` for its progress."""
            import_id = start_import(registry, current_principal(), args, request.get_data())
            return {"import_id": import_id}, 202, {"Location": f"/api/v1/imports/{import_id}"}

    @blp.route("/imports/<uuid:import_id>")
    class ImportItem(MethodView):
        @blp.response(200, ImportOut)
        @blp.alt_response(403, schema=ProblemSchema)
        @blp.alt_response(404, schema=ProblemSchema)
        def get(self, import_id):
            """An import's progress and the rows it refused."""
            return import_status(registry, current_principal(), str(import_id))

        @blp.response(204)
        @blp.alt_response(403, schema=ProblemSchema)
        @blp.alt_response(404, schema=ProblemSchema)
        @blp.alt_response(409, schema=ProblemSchema)
        def delete(self, import_id):
            """Undo an import (within 24 h): soft-delete every record it created that is still live
            (each publishes its `.deleted` event). What it updated stays as it is."""
            undo_import(registry, current_principal(), str(import_id))

    @blp.route("/imports/<uuid:import_id>/errors.csv")
    class ImportErrors(MethodView):
        @blp.doc(**ERRORS_CSV)
        @blp.alt_response(403, schema=ProblemSchema)
        @blp.alt_response(404, schema=ProblemSchema)
        def get(self, import_id):
            """The refused rows as CSV, to fix and import again."""
            return errors_csv(registry, current_principal(), str(import_id))

    return blp


# -- use cases -----------------------------------------------------------------------------

def start_import(registry: Registry, actor: Principal, args: dict, body: bytes) -> str:
    kind = registry.kinds.get(args["kind"])
    if kind is None:
        raise Invalid(f"{args['kind']} are not imported here.", errors={"kind": ["Not imported by this service."]})
    match = args.get("match")
    if match and match not in kind.match_fields:
        raise Invalid(f"{args['kind']} cannot be matched on {match}.",
                      errors={"match": [f"One of: {', '.join(kind.match_fields)}."]})
    mapping = parse_mapping(args.get("mapping"), kind.spec)
    text = decode(body)
    lay = layout(text, kind.spec, mapping, match)
    total = count_rows(text, lay.delimiter)
    import_id = new_id()
    with current_db().transaction() as uow:
        uow.session.execute(insert(registry.tables.imports).values(
            id=import_id, kind=kind.name, status="pending", dry_run=args["dry_run"], match=match,
            header=lay.header, targets=lay.targets, delimiter=lay.delimiter, body=text.encode(),
            importer_id=actor.id, importer_role=actor.role, importer_team=actor.team, total=total,
            processed=0, created=0, updated=0, failed=0, created_at=utcnow()))
    return import_id


def _job(session, registry: Registry, actor: Principal, import_id: str) -> dict:
    t = registry.tables.imports
    job = session.execute(select(*[c for c in t.c if c.name != "body"]).where(t.c.id == import_id)).mappings().first()
    if job is None:
        raise NotFound.of("import", import_id)
    if not (actor.is_admin or actor.id == job["importer_id"]
            or (actor.role == "manager" and actor.team and actor.team == job["importer_team"])):
        raise Forbidden("Only the user who started an import, their manager or an admin may see or undo it.")
    return dict(job)


def import_status(registry: Registry, actor: Principal, import_id: str) -> dict:
    e = registry.tables.errors
    with current_db().sessions() as session:
        job = _job(session, registry, actor, import_id)
        shown = session.execute(select(e.c.row, e.c.errors).where(e.c.import_id == import_id)
                                .order_by(e.c.row).limit(SHOWN_ERRORS + 1)).all()
    job["errors"] = [{"row": r.row, "errors": r.errors} for r in shown[:SHOWN_ERRORS]]
    job["errors_truncated"] = len(shown) > SHOWN_ERRORS
    job["undo_until"] = None if job["dry_run"] else job["created_at"] + UNDO_WINDOW
    return job


def errors_csv(registry: Registry, actor: Principal, import_id: str) -> Response:
    db = current_db()
    with db.sessions() as session:
        job = _job(session, registry, actor, import_id)
    e = registry.tables.errors

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(["row", "errors", *job["header"]])
        with db.sessions() as session:
            stmt = select(e.c.row, e.c.errors, e.c.cells).where(e.c.import_id == import_id).order_by(e.c.row)
            for chunk in session.execute(stmt.execution_options(yield_per=1000)).partitions():
                writer.writerows([r.row, _describe(r.errors), *r.cells] for r in chunk)
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()

    response = Response(lines(), content_type="text/csv; charset=utf-8", direct_passthrough=True)
    response.headers["Content-Disposition"] = f'attachment; filename="import-{import_id}-errors.csv"'
    return response


def _describe(errors: dict) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


def undo_import(registry: Registry, actor: Principal, import_id: str) -> None:
    """Soft-delete what the import created, a batch per transaction (a retry
    after an interruption finishes the job; what is gone stays gone)."""
    db = current_db()
    with db.sessions() as session:
        job = _job(session, registry, actor, import_id)
    if job["dry_run"]:
        return
    if job["status"] in ("pending", "running"):
        raise Conflict("The import is still running; undo it once it is done.", slug="import-running")
    if utcnow() - job["created_at"] > UNDO_WINDOW:
        raise Conflict("An import can be undone within 24 hours of its start; this one is older.",
                       slug="undo-window-closed")
    kind, r = registry.kinds[job["kind"]], registry.tables.records
    while True:
        with db.transaction() as uow:
            ids = list(uow.session.scalars(select(r.c.record_id).where(r.c.import_id == import_id)
                                           .order_by(r.c.record_id).limit(BATCH)))
            if not ids:
                break
            kind.undo(uow, ids)
            uow.session.execute(delete(r).where(r.c.import_id == import_id, r.c.record_id.in_(ids)))
    with db.transaction() as uow:
        t = registry.tables.imports
        uow.session.execute(update(t).where(t.c.id == import_id, t.c.undone_at.is_(None)).values(undone_at=utcnow()))


def waiting(db, registry: Registry) -> int:
    """Imports not finished yet (tests and the bench wait on it)."""
    t = registry.tables.imports
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(t).where(t.c.status.in_(("pending", "running"))))
