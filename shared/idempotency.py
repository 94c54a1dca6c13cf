"""Idempotency-Key, kept by the service that owns the write, in the same
transaction as the write (CONTRACTS §2, refined in §7).

A POST that carries ``Idempotency-Key`` runs in one transaction that starts
by inserting the key's record, holds every change the use case makes
(``uow.commit()`` only flushes then) and commits once the answer is built,
with the answer in the record. So:

- the write and its recorded answer commit together or not at all: a retry
  after a timeout, a 5xx or a dropped connection finds either nothing (and
  runs) or the answer (and gets it back, ``Idempotent-Replayed: true``);
- a repeat that arrives while the first is still running waits on the
  record's unique index until the first ends (bounded below the gateway's
  timeout), then replays its answer; past the bound it gets 409 with
  ``Retry-After``. No key is ever left stuck;
- a request that fails (4xx/5xx) rolls back with its record: the client may
  correct it and retry with the same key;
- the same key with another request is a 422; records live 24 hours.

The gateway forwards the header to the owning service and applies the same
mechanism to its own routes (users, API clients, handovers).
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from shared.db import UnitOfWork, utcnow
from shared.http import PROBLEM, Conflict, Invalid, problem_body

TTL = timedelta(hours=24)
ABANDONED = timedelta(minutes=2)
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")
SKIPPED_PREFIXES = ("/api/v1/auth/",)  # tokens are never stored


class RequestUnitOfWork(UnitOfWork):
    """The request's one transaction: use cases' ``commit()`` flushes; the
    transaction commits after the answer is built (see :func:`install`)."""

    def __init__(self, db, session, principal_id: str, key: str, fingerprint: str):
        super().__init__(db)
        self.session = session
        self.principal_id = principal_id
        self.key = key
        self.fingerprint = fingerprint

    def __enter__(self) -> "RequestUnitOfWork":
        return self

    def __exit__(self, *exc) -> None:
        return None  # the request ends the transaction, whatever happened inside

    def commit(self) -> None:
        self.session.flush()


def request_unit_of_work(db) -> RequestUnitOfWork | None:
    """The running request's transaction on ``db``, if it carries a key."""
    if not has_request_context():
        return None
    scoped = g.get("request_uow")
    return scoped if scoped is not None and scoped.db is db else None


def fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.full_path, request.headers.get("Content-Type", "")):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record) -> Response:
    response = Response(record.response_body, status=record.response_status)
    for name, value in (record.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(db, session, principal_id: str, key: str, digest: str, wait_seconds: float):
    """Insert the key's record in a new transaction; None when it is ours,
    else the answer to give (a replay)."""
    table = db.tables.idempotency
    this = (table.c.principal_id == principal_id, table.c.key == key)
    for _ in range(3):
        session.execute(delete(table).where(*this, table.c.created_at < utcnow() - TTL))
        if db.is_postgres:
            session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds * 1000)}ms'"))
        try:
            session.execute(table.insert().values(principal_id=principal_id, key=key, request_hash=digest,
                                                  status="pending", created_at=utcnow()))
            if db.is_postgres:
                session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
            return None
        except IntegrityError:
            session.rollback()  # another request holds (or held) this key
        except OperationalError as exc:
            session.rollback()
            if not _is_lock_wait(exc):
                raise
            return _in_progress(wait_seconds)
        record = session.execute(select(table).where(*this)).first()
        session.rollback()
        if record is None:
            continue  # it failed and freed the key meanwhile: try to take it
        if record.request_hash != digest:
            raise Invalid("This Idempotency-Key was used with a different request; use a new key.",
                          errors={"Idempotency-Key": ["Already used with a different request."]})
        if record.status == "done":
            return _replay(record)
        if record.created_at < utcnow() - ABANDONED:
            session.execute(delete(table).where(*this, table.c.status == "pending"))
            session.commit()  # a pending record is never committed by a live request
            continue
        return _in_progress(wait_seconds)
    return _in_progress(wait_seconds)


def _is_lock_wait(exc: OperationalError) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code == "55P03" or "database is locked" in str(exc.orig or exc)


def _in_progress(waited: float):
    raise Conflict(f"A request with this Idempotency-Key is still running (waited {waited:g} s); retry with the "
                   "same key in a moment to get its answer.", slug="idempotency-in-progress",
                   headers={"Retry-After": "1"})


def _record(uow: RequestUnitOfWork, response) -> None:
    table = uow.db.tables.idempotency
    values = dict(status="done", response_status=response.status_code, response_body=response.get_data(as_text=True),
                  response_headers={h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers})
    done = uow.session.execute(update(table).where(table.c.principal_id == uow.principal_id, table.c.key == uow.key)
                               .values(**values)).rowcount
    if not done:  # the use case rolled the transaction back (and the record with it) and then succeeded
        uow.session.execute(table.insert().values(principal_id=uow.principal_id, key=uow.key,
                                                  request_hash=uow.fingerprint, created_at=utcnow(), **values))


def _begin_keyed(db, principal_id: str, key: str, wait_seconds: float):
    """Take the key in a new transaction that the request then runs in, or
    answer at once (a replay, a 409 while the first still runs, a 422)."""
    if len(key) > 255:
        raise Invalid("Idempotency-Key is at most 255 characters.", errors={"Idempotency-Key": ["Too long."]})
    digest = fingerprint()
    session = db.sessions()
    try:
        replay = _claim(db, session, principal_id, key, digest, wait_seconds)
    except BaseException:
        session.close()
        raise
    if replay is not None:
        session.close()
        return replay
    g.request_uow = RequestUnitOfWork(db, session, principal_id, key, digest)
    return None


def install(app: Flask, db, wait_seconds: float, log) -> None:
    """Registered after authentication and the order of checks."""

    @app.before_request
    def _begin():
        g.request_uow = None
        key = request.headers.get("Idempotency-Key")
        principal = g.get("principal")
        if request.method != "POST" or not key or principal is None or request.path.startswith(SKIPPED_PREFIXES):
            return None
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is None or getattr(view, "cadena_forwards", False):
            return None  # the owning service keeps the key
        return _begin_keyed(db, principal.id, key, wait_seconds)

    @app.after_request
    def _finish(response):
        uow = g.pop("request_uow", None)
        if uow is None:
            return response
        try:
            if not 200 <= response.status_code < 300:
                uow.session.rollback()  # nothing of a failed request stays, the key included
                return response
            _record(uow, response)
            uow.session.commit()
            return response
        except OperationalError as exc:
            uow.session.rollback()
            log.warning("idempotent_commit_failed", error=str(exc.orig or exc)[:200])
            body = problem_body(503, "Service unavailable", "The database became unreachable before the change "
                                "was saved; nothing was changed. Retry with the same Idempotency-Key.",
                                slug="database-unavailable")
            return Response(json.dumps(body), status=503, mimetype=PROBLEM, headers={"Retry-After": "5"})
        finally:
            uow.session.close()

    @app.teardown_request
    def _close(_exc):
        uow = g.pop("request_uow", None)
        if uow is not None:  # the answer never got built (an error outside the handlers)
            uow.session.rollback()
            uow.session.close()
