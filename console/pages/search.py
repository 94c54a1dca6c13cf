"""Search: one box for every kind of record (GET /api/v1/search), results
grouped by kind, each linking to its page."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console.api import ApiError
from console.auth import login_required, user_api

bp = Blueprint("search", __name__, url_prefix="/search")

LIMIT = 50
KINDS = {"account": _l("Accounts"), "contact": _l("Contacts"), "opportunity": _l("Deals"), "case": _l("Cases"),
         "activity": _l("Activities")}


def link(item: dict) -> str:
    """Where a result leads: its own page (a deal's is its customer's, where deals are shown)."""
    ident, kind = item["id"], item["type"]
    if kind == "account":
        return url_for("accounts.show", account_id=ident)
    if kind == "contact":
        return url_for("contacts.show", contact_id=ident)
    if kind == "case":
        return url_for("cases.show", case_id=ident)
    if kind == "activity":
        return url_for("agenda.show", activity_id=ident)
    return url_for("search.deal", deal_id=ident)


@bp.get("")
@login_required
def index():
    query = request.args.get("q", "").strip()[:200]
    kind = request.args.get("type", "") if request.args.get("type") in KINDS else ""
    items, error = [], None
    if query:
        try:
            items = user_api().get("/search", q=query, types=kind or None, limit=LIMIT)["items"]
        except ApiError as exc:
            if exc.status != 422:
                raise
            error = exc
    groups = [(code, label, [i for i in items if i["type"] == code]) for code, label in KINDS.items()]
    return render_template("search/results.html", query=query, kind=kind, kinds=KINDS, error=error,
                           groups=[g for g in groups if g[2]], total=len(items), link=link)


@bp.get("/deals/<uuid:deal_id>")
@login_required
def deal(deal_id):
    """A deal is shown on its customer's page."""
    found = user_api().get(f"/opportunities/{deal_id}")
    return redirect(url_for("accounts.show", account_id=found["account_id"], _anchor="h-deals"))
