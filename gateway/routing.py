"""Routes /api/v1/<resource> to the service that owns it."""
from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, g, request

from shared.http import NotFound, Problem

from gateway import route_table as route_table_module
from gateway.clients import ServiceUnavailable

FORWARD_REQUEST = ("Authorization", "Content-Type", "Accept", "If-Match", "If-None-Match", "X-Request-ID",
                   "Idempotency-Key")
FORWARD_RESPONSE = ("Content-Type", "Location", "ETag", "Allow", "Retry-After", "Content-Disposition",
                    "Idempotent-Replayed")
# Failures after the request reached the service: it may have acted.
MAYBE_DONE = ("ReadTimeoutError", "ProtocolError", "RemoteDisconnected", "IncompleteRead")


def route_table() -> list[tuple[re.Pattern, str]]:
    """Patterns in the order they are tried: the nested exceptions first."""
    return [(re.compile(pattern), name)
            for table in (route_table_module.NESTED, route_table_module.ROUTES)
            for name, patterns in table.items() for pattern in patterns]


def public_routes() -> tuple[str, ...]:
    return route_table_module.PUBLIC


def owner_of(path: str, table) -> str | None:
    for pattern, service in table:
        if pattern.fullmatch(path):
            return service
    return None


bp = Blueprint("proxy", __name__)


def _unavailable(service: str, reason: str) -> Problem:
    if request.method != "GET" and reason in MAYBE_DONE:
        detail = (f"The {service} service did not answer in time; the change may have been made. Retry with the "
                  "same Idempotency-Key to get its answer (without one, GET the resource before retrying).")
    else:
        detail = f"The {service} service is unavailable right now; nothing was done. Retry in a moment."
    return Problem(detail, status=503, title="Service unavailable", slug="service-unavailable",
                   extra={"service": service}, headers={"Retry-After": "1"})


@bp.route("/api/v1/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def proxy(path: str):
    full = "/api/v1/" + path
    service = owner_of(full, current_app.extensions["cadena"].routes)
    if service is None:
        raise NotFound(f"There is no resource at {full}; GET /api/v1/openapi.json lists them all.")
    client = current_app.extensions["cadena"].clients[service]
    headers = {h: request.headers[h] for h in FORWARD_REQUEST if h in request.headers}
    headers["X-Request-ID"] = g.request_id
    target = full + (("?" + request.query_string.decode()) if request.query_string else "")
    try:
        reply = client.request(request.method, target, headers=headers, body=request.get_data() or None)
    except ServiceUnavailable as exc:
        raise _unavailable(service, exc.reason) from None
    response = Response(reply.data, status=reply.status)
    for name in FORWARD_RESPONSE:
        if name in reply.headers:
            response.headers[name] = reply.headers[name]
    return response


proxy.cadena_forwards = True  # the owning service keeps Idempotency-Key
