"""“Export CSV” on every list page: the list's current filters, passed to
the public API's export with the user's token, and the CSV streamed back
as it arrives (never held whole in the console)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, request, url_for

from console.auth import login_required, user_api

bp = Blueprint("exports", __name__, url_prefix="/export")

# list page → the API's export; the page's own parameters that are not filters stay behind
KINDS = {"accounts": "/accounts/export", "contacts": "/contacts/export", "opportunities": "/opportunities/export",
         "activities": "/activities/export", "cases": "/cases/export"}
NOT_FILTERS = ("cursor", "fragment", "limit", "lang", "view")
PASSED_HEADERS = ("Content-Type", "Content-Disposition")


def export_url(kind: str, filters: dict) -> str:
    """Where a list page's “Export CSV” points, with its filters."""
    return url_for("exports.download", kind=kind, **{k: v for k, v in filters.items() if v not in (None, "")})


@bp.get("/<kind>.csv")
@login_required
def download(kind: str):
    if kind not in KINDS:
        abort(404)
    query = {k: v for k, v in request.args.items() if k not in NOT_FILTERS and v != ""}
    answer = user_api().download(KINDS[kind], query)
    response = Response(answer.chunks, status=200, direct_passthrough=True)
    response.call_on_close(answer.close)
    for name in PASSED_HEADERS:
        value = answer.headers.get(name) or answer.headers.get(name.lower())
        if value:
            response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response
