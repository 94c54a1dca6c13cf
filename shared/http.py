"""HTTP conventions shared by every process: RFC 9457 problem+json errors,
keyset cursor pagination and ETag/If-Match (CONTRACTS §2)."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Sequence

from flask import Flask, has_request_context, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select, tuple_
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

PROBLEM = "application/problem+json"
TYPE_BASE = "https://cadena.dev/problems/"

# One problem type per kind of problem whatever raised it (docs/problems.md
# lists them): a status with no more specific kind gets its default here.
DEFAULT_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                 405: "method-not-allowed", 406: "not-acceptable", 409: "conflict", 412: "stale-version",
                 413: "payload-too-large", 415: "unsupported-media-type", 422: "validation",
                 414: "uri-too-long", 428: "precondition-required", 429: "too-many-requests",
                 431: "headers-too-large", 500: "internal-error", 501: "not-implemented",
                 503: "service-unavailable"}


def problem_type(status: int, slug: str | None = None) -> str:
    return TYPE_BASE + (slug or DEFAULT_SLUGS.get(status, str(status)))


class Problem(Exception):
    """A client error with a clear RFC 9457 body. Raise it from use cases."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, errors: dict | None = None, status: int | None = None,
                 title: str | None = None, slug: str | None = None, extra: dict | None = None,
                 headers: dict | None = None):
        super().__init__(detail)
        self.headers = headers or {}
        self.detail = detail
        self.errors = errors
        self.status = status or self.status
        self.title = title or self.title
        self.slug = slug or self.slug
        self.extra = extra or {}


class Invalid(Problem):
    status, title, slug = 422, "Validation failed", "validation"


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"

    @classmethod
    def of(cls, kind: str, ident: Any) -> "NotFound":
        return cls(f"No {kind} with id {ident}.")


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class Merged(Problem):
    """The record was merged into another (CONTRACTS §9, "Merge"). A read
    answers 308 with the survivor's address in ``Location`` (the same path,
    the survivor's id); a write answers 409 — it is never applied to the
    survivor behind the caller's back."""

    slug = "merged"

    def __init__(self, kind: str, merged_id: Any, survivor_id: Any):
        merged_id, survivor_id = str(merged_id), str(survivor_id)
        reading = has_request_context() and request.method in ("GET", "HEAD")
        headers = {}
        if reading:
            location = request.path.replace(merged_id, survivor_id)
            if request.query_string:
                location += "?" + request.query_string.decode("latin-1")
            headers["Location"] = location
        super().__init__(f"The {kind} {merged_id} was merged into {survivor_id}; use that one.",
                         status=308 if reading else 409, title="Permanent redirect" if reading else "Conflict",
                         extra={"merged_id": merged_id, "survivor_id": survivor_id}, headers=headers)


class Unauthorized(Problem):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class TokenRevoked(Unauthorized):
    slug = "token-revoked"


class MalformedBody(Problem):
    status, title, slug = 400, "Bad request", "malformed-json"


class UnsupportedMediaType(Problem):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class TooManyRequests(Problem):
    status, title, slug = 429, "Too many requests", "too-many-requests"


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition failed", "stale-version"


def problem_body(status: int, title: str, detail: str, *, slug: str | None = None,
                 errors: dict | None = None, extra: dict | None = None) -> dict:
    body = {
        "type": problem_type(status, slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path if request else None,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(status: int, title: str, detail: str, **kwargs):
    from flask import current_app

    body = problem_body(status, title, detail, **kwargs)
    return current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM)


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow/webargs nest errors by location and field; clients want
    ``{"field": ["message"]}`` with dotted paths for nested fields."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "form", "headers", "files", "view_args"):
                sub = flatten_errors(value, "")
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
                if key == "_schema":
                    name = prefix or "body"
                sub = flatten_errors(value, name)
            for k, v in sub.items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "body"] = list(messages)
        else:
            for m in messages:
                for k, v in flatten_errors(m, prefix).items():
                    flat.setdefault(k, []).extend(v)
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 412: "Precondition failed",
           413: "Payload too large", 415: "Unsupported media type", 422: "Validation failed",
           428: "Precondition required", 429: "Too many requests"}


def _http_problem(exc: HTTPException):
    """Werkzeug's and webargs' errors, as problems of the kind they are."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    slug = None
    if status == 400 and request.mimetype == "application/json" and not messages:
        detail, slug = "The body is not valid JSON.", "malformed-json"
    else:
        detail = exc.description or _TITLES.get(status, "Error")
    errors = flatten_errors(messages) if messages else None
    if status == 422 and errors:
        detail = "The request has invalid fields; see errors."
    if status == 400 and errors and any("Invalid JSON" in m for ms in errors.values() for m in ms):
        detail, errors, slug = "The body is not valid JSON.", None, "malformed-json"
    if status == 413:
        detail = "The body is larger than this endpoint accepts; send a smaller one."
    response = problem_response(status, _TITLES.get(status, exc.name), detail, errors=errors, slug=slug)
    if status == 405 and exc.get_headers():
        for key, value in exc.get_headers():
            if key.lower() == "allow":
                response.headers["Allow"] = value
    return response


def refuse_nul() -> None:
    """Postgres text cannot hold NUL, and no CRM value contains it: a 422."""
    if b"%00" in request.query_string or "\x00" in request.path or (
            request.mimetype == "application/json" and b"\\u0000" in request.get_data(cache=True)):
        raise Invalid("Text may not contain the NUL character (\\u0000).",
                      errors={"body": ["Remove NUL characters."]})


def install_problem_handlers(app: Flask, log) -> None:
    """Every error leaves as problem+json; nothing internal reaches a client."""

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        response = problem_response(exc.status, exc.title, exc.detail, slug=exc.slug, errors=exc.errors,
                                    extra=exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        return problem_response(422, "Validation failed", "The request has invalid fields; see errors.",
                                slug="validation", errors=flatten_errors(exc.messages))

    app.register_error_handler(HTTPException, _http_problem)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        log.warning("database_unavailable", error=str(exc.orig or exc)[:200])
        response = problem_response(503, "Service unavailable",
                                    "The database is unreachable right now; nothing was changed. Retry shortly.",
                                    slug="database-unavailable")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(DataError)
    def _data_error(exc: DataError):
        # SQLSTATE class 22: a value the database cannot store or compare
        # (out of range, too long). Schemas should have said so first.
        log.warning("data_error", error=str(exc.orig or exc).splitlines()[0][:200])
        return problem_response(422, "Validation failed",
                                "A value is out of the range or size this field can hold; nothing was changed.",
                                slug="validation")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled_error", error=type(exc).__name__)
        return problem_response(500, "Internal error",
                                "Something went wrong on our side; the request id identifies it in the logs.")


# -- pagination --------------------------------------------------------------

class ListArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int = 2) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError
        return values
    except Exception:
        raise Invalid("The cursor is not one this API returned.", errors={"cursor": ["Invalid cursor."]}) from None


def _python_type(column) -> type:
    try:
        return column.type.python_type
    except NotImplementedError:
        return object


def keyset_page(session, stmt: Select, created_col, id_col, *, limit: int, cursor: str | None,
                descending: bool = False) -> tuple[list, str | None]:
    """One page ordered by (created_at, id): stable under concurrent inserts
    and flat in cost with table size, unlike OFFSET."""
    if cursor:
        created_raw, last_id = decode_cursor(cursor)
        try:
            created = datetime.fromisoformat(created_raw)
            if not isinstance(last_id, _python_type(id_col)) or isinstance(last_id, bool):
                raise TypeError  # a value the database would refuse to compare with the id
        except (TypeError, ValueError):
            raise Invalid("The cursor is not one this API returned.", errors={"cursor": ["Invalid cursor."]}) from None
        # A row-value comparison, so the (created_at, id) index bounds the scan.
        if descending:
            stmt = stmt.where(tuple_(created_col, id_col) < tuple_(created, last_id))
        else:
            stmt = stmt.where(tuple_(created_col, id_col) > tuple_(created, last_id))
    order = (created_col.desc(), id_col.desc()) if descending else (created_col.asc(), id_col.asc())
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, created_col.key), getattr(last, id_col.key)])
    return rows, next_cursor


# -- ETag / If-Match -----------------------------------------------------------

def etag(version: int) -> str:
    return f'"{version}"'


def if_match() -> set[str] | None:
    """The ETags a client sent in If-Match, or None when it sent none (or '*')."""
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    return {t.strip().removeprefix("W/") for t in header.split(",")}


def ensure_version(current_version: int, expected: set[str] | None) -> None:
    """412 when the client's If-Match names a version that is no longer current."""
    if expected is not None and etag(current_version) not in expected:
        raise PreconditionFailed(
            f"The resource changed since you read it (now version {current_version}); "
            "GET it again and retry with the new ETag.",
            extra={"current_version": current_version},
        )


def with_etag(response, version: int):
    response.headers["ETag"] = etag(version)
    return response
