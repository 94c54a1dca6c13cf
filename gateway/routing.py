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
                    "Idempotent-Replayed", "Cache-Control")
# Downloads passed on as they arrive (CSV exports of any size), with a longer
# wait for the first byte: a filter that matches little may scan a while.
STREAMED = re.compile(r"/api/v1/[a-z-]+/export|/api/v1/imports/[^/]+/errors\.csv")
STREAM_TIMEOUT = 60.0
CHUNK = 64 * 1024
# Failures after the request reached the service: it may have acted.
MAYBE_DONE = ("ReadTimeoutError", "ProtocolError", "RemoteDisconnected", "IncompleteRead")


def route_table() -> list[tuple[re.Pattern, str]]:
    """Patterns in the order they are tried: the nested exceptions first."""
    return [(re.compile(pattern), name)
            for table in (route_table_module.NESTED, route_table_module.ROUTES)
            for name, patterns in table.items() for pattern in patterns]


def sharers_of(path: str) -> tuple[str, ...]:
    """The services that serve a shared path (each for its own records), or ()."""
    for pattern, services in route_table_module.SHARED.items():
        if re.fullmatch(pattern, path):
            return services
    return ()


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
    return forward(client, full)


def forward(client, full: str, *, timeout: float | None = None) -> Response:
    """Send this request on to a service and its answer back (streamed for downloads)."""
    headers = {h: request.headers[h] for h in FORWARD_REQUEST if h in request.headers}
    headers["X-Request-ID"] = g.request_id
    target = full + (("?" + request.query_string.decode()) if request.query_string else "")
    if request.method == "GET" and STREAMED.fullmatch(full):
        return _streamed(client, target, headers)
    try:
        reply = client.request(request.method, target, headers=headers, body=request.get_data() or None,
                               timeout=timeout)
    except ServiceUnavailable as exc:
        raise _unavailable(client.name, exc.reason) from None
    return _with_headers(Response(reply.data, status=reply.status), reply.headers)


def _with_headers(response: Response, headers) -> Response:
    for name in FORWARD_RESPONSE:
        if name in headers:
            response.headers[name] = headers[name]
    return response


def _streamed(client, target: str, headers: dict) -> Response:
    """The service's answer passed on a chunk at a time. If the service fails
    mid-way the error ends the chunked answer abruptly, so the client sees a
    broken download, never a short file that looks whole."""
    try:
        upstream = client.stream("GET", target, headers=headers, timeout=STREAM_TIMEOUT)
    except ServiceUnavailable as exc:
        raise _unavailable(client.name, exc.reason) from None
    response = Response(upstream.stream(CHUNK, decode_content=False), status=upstream.status,
                        direct_passthrough=True)
    response.call_on_close(upstream.release_conn)
    return _with_headers(response, upstream.headers)


proxy.cadena_forwards = True  # the owning service keeps Idempotency-Key
