"""The gateway's side of imports (CONTRACTS §9): each owning service keeps
its own import jobs (accounts: accounts and contacts; opportunities:
opportunities). A POST goes to the owner of its ``kind``; a question about
an import id goes to each owner in turn until one knows it, so the gateway
keeps no state of its own (two owners: at most one extra call)."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from shared.http import NotFound, Problem
from shared.imports_api import IMPORT_KINDS

from gateway import route_table
from gateway.routing import forward

bp = Blueprint("imports", __name__)

OWNERS = route_table.SHARED[r"/api/v1/imports(/.*)?"]
SLOW = 120.0  # storing a 100 MiB file, or undoing a large import, takes longer than a plain call


def _client(service: str):
    return current_app.extensions["cadena"].clients[service]


@bp.post("/api/v1/imports")
def start():
    # An unknown kind goes to accounts, which answers it in the order of checks (403 before 422).
    service = IMPORT_KINDS.get(request.args.get("kind", ""), "accounts")
    return forward(_client(service), request.path, timeout=SLOW)


@bp.route("/api/v1/imports/<import_id>", methods=["GET", "DELETE"])
@bp.get("/api/v1/imports/<import_id>/errors.csv")
def ask_owners(import_id: str):
    unavailable = None
    for service in OWNERS:
        try:
            response = forward(_client(service), request.path, timeout=SLOW if request.method == "DELETE" else None)
        except Problem as exc:
            if exc.status != 503:
                raise
            unavailable = exc
            continue
        if response.status_code != 404:
            return response
        response.close()
    if unavailable is not None:  # the one that did not answer may hold it: never a false 404
        raise unavailable
    raise NotFound.of("import", import_id)


for _view in (start, ask_owners):
    _view.cadena_forwards = True  # the owning service decides who may (and keeps Idempotency-Key)
