"""The order of checks every `/api/v1` request goes through (CONTRACTS §7),
in one place for every process:

    401 token → 403 role → 415 media type → 400 unparseable or too deep
    → 422 validation (the view's schema) → 404/409/412 (the use case)

The token is checked by :func:`shared.auth.install_auth`, which then calls
:func:`check_request`. A view says who may call it with :func:`writes` (the
roles that own that kind of record) or :func:`allow`; those checks run here,
before the body is even read, so a caller who may not act learns that first,
whatever the body holds. Bodies over the size limit are answered by
:class:`BodyLimit`, a WSGI wrapper that drains what the client is still
sending before it answers 413, so the client reads the answer instead of a
reset connection.
"""
from __future__ import annotations

import io
import json
import uuid
from typing import Callable, Iterable

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from shared.http import PROBLEM, Forbidden, MalformedBody, UnsupportedMediaType, problem_type, refuse_nul

MAX_JSON_DEPTH = 64
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
HTML_POLICY = "frame-ancestors 'none'"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# -- what a view declares ----------------------------------------------------------

def writes(kind: str | Callable[[], str | None], owner_field: str = "owner_id") -> Callable:
    """The view changes records of ``kind``: only the roles that own such
    records (``shared.auth.OWNER_ROLES``) and admins may call it, and a body
    naming another owner is refused before it is validated. ``kind`` may be
    a function of the request (None: the view refuses the request itself)."""
    def mark(view: Callable) -> Callable:
        view.cadena_writes = (kind, owner_field)
        return view
    return mark


def allow(*roles: str, self_param: str | None = None) -> Callable:
    """Only admins, ``roles`` and (with ``self_param``) the user the path
    names may call the view; finer rules stay in the use case."""
    def mark(view: Callable) -> Callable:
        view.cadena_allow = (frozenset(roles), self_param)
        return view
    return mark


def reads_only(view: Callable) -> Callable:
    """A POST that changes nothing (a question too big for a query string):
    the readonly role may call it."""
    view.cadena_reads_only = True
    return view


def _view_method(app: Flask) -> Callable | None:
    view = app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is None:
        return None
    cls = getattr(view, "view_class", None)
    return getattr(cls, request.method.lower(), None) if cls is not None else view


def _expects_json(method: Callable) -> bool:
    params = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(isinstance(p, dict) and p.get("in") == "json" for p in params)


def is_json_mimetype(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


# -- the checks ------------------------------------------------------------------------

def check_request(app: Flask, principal) -> None:
    """403 → 415 → 400 → 422 (NUL) for the request being served (after its token passed)."""
    method = _view_method(app)
    _check_roles(method, principal)
    if method is not None and request.method in WRITE_METHODS and _expects_json(method):
        _check_json_body(method, principal)
    refuse_nul()


def _changes_state(method: Callable | None) -> bool:
    """Whether the request may change something. A forwarding view (the
    gateway's proxy) leaves that to the service it forwards to, which knows."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    return not (getattr(method, "cadena_reads_only", False) or getattr(method, "cadena_forwards", False))


def _check_roles(method: Callable | None, principal) -> None:
    from shared.auth import OWNER_ROLES

    if principal is None or principal.is_admin:
        return
    if principal.role == "readonly" and _changes_state(method):
        raise Forbidden("The readonly role may only read.")
    marked = getattr(method, "cadena_writes", None)
    if marked is not None:
        kind, _ = marked
        kind = kind() if callable(kind) else kind  # a kind the request names (e.g. ?kind= of an import)
        if kind is not None and principal.role not in OWNER_ROLES.get(kind, frozenset()):
            raise Forbidden(f"The {principal.role} role may not change {kind} records.")
    allowed = getattr(method, "cadena_allow", None)
    if allowed is not None:
        roles, self_param = allowed
        is_self = self_param is not None and str((request.view_args or {}).get(self_param)) == principal.id
        if principal.role not in roles and not is_self:
            who = ", ".join(sorted({"admin", *roles})) + (" or the user themselves" if self_param else "")
            raise Forbidden(f"Only {who} may do this.")


def _check_owner_field(method: Callable, principal, body) -> None:
    """A rep (or any role that only owns its own records) naming someone else
    as the owner is refused whatever else the body holds; a manager's team is
    checked by the use case, which knows the team."""
    marked = getattr(method, "cadena_writes", None)
    if marked is None or principal is None or principal.is_admin or principal.role == "manager":
        return
    _, field = marked
    if isinstance(body, dict) and body.get(field) is not None and str(body[field]) != principal.id:
        raise Forbidden(f"You may only give {field} your own id.")


def _check_json_body(method: Callable, principal) -> None:
    # BodyLimit gives every body a Content-Length (it reads chunked ones in).
    if not request.content_length:
        if request.method == "PATCH":
            raise MalformedBody("The body is empty; send a JSON object with the fields to change.",
                                slug="bad-request")
        return
    if not is_json_mimetype(request.mimetype):
        raise UnsupportedMediaType(f"Send the body as JSON with 'Content-Type: application/json' "
                                   f"(got '{request.mimetype or 'none'}').")
    _check_owner_field(method, principal, parse_json_body())


def parse_json_body():
    """Parse the body once (Flask caches it for the view's schema): 400 when it
    cannot be parsed or nests deeper than MAX_JSON_DEPTH."""
    try:
        body = request.get_json(force=True, silent=False, cache=True)
    except (BadRequest, RecursionError, UnicodeDecodeError, ValueError):
        raise MalformedBody("The body is not valid JSON.") from None
    if json_depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise MalformedBody(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    return body


def json_depth(value, limit: int) -> int:
    """How deep ``value`` nests, counting stops once past ``limit`` (iterative:
    a hostile body cannot exhaust the stack)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children: Iterable = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def add_security_headers(response):
    """§7: on every response; HTML also may not be framed."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = HTML_POLICY
    return response


# -- body size --------------------------------------------------------------------------

class BodyLimit:
    """WSGI wrapper: a body over the limit gets a 413 problem+json, and the
    client may keep sending up to ``drain`` bytes without having its
    connection reset under it (the rest of the body is read and dropped)."""

    CHUNK = 64 * 1024

    def __init__(self, app, limit: int, *, larger: dict[str, int] | None = None, drain: int = 50 * 1024 * 1024):
        self.app = app
        self.limit = limit
        self.larger = larger or {}
        self.drain = drain

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.larger.items():
            if path.startswith(prefix):
                return limit
        return self.limit

    def __call__(self, environ, start_response):
        limit = self.limit_for(environ.get("PATH_INFO", ""))
        stream = environ.get("wsgi.input")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            self._discard(stream, min(length, self.drain))
            return self._too_large(environ, start_response, limit, close=length > self.drain)
        if not length and environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                self._discard(stream, self.drain - len(body))
                return self._too_large(environ, start_response, limit, close=False)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)

    def _discard(self, stream, budget: int) -> None:
        while stream is not None and budget > 0:
            chunk = stream.read(min(self.CHUNK, budget))
            if not chunk:
                return
            budget -= len(chunk)

    def _too_large(self, environ, start_response, limit: int, *, close: bool):
        body = json.dumps({
            "type": problem_type(413), "title": "Payload too large", "status": 413,
            "detail": f"The body is larger than the {limit} bytes this endpoint accepts; send a smaller one.",
            "instance": environ.get("PATH_INFO"), "max_bytes": limit,
        }).encode()
        request_id = environ.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex
        headers = [("Content-Type", PROBLEM), ("Content-Length", str(len(body))), ("X-Request-ID", request_id[:200]),
                   *SECURITY_HEADERS.items()]
        if close:
            headers.append(("Connection", "close"))
        start_response("413 Payload Too Large", headers)
        return [body]
