"""Search across accounts, contacts and deals with the lists' `q` (until a
search API exists)."""
from __future__ import annotations

import re

from flask import Blueprint, render_template, request

from console.api import ApiError
from console.auth import login_required, user_api
from console.directory import all_pages
from console.views import account_names

bp = Blueprint("search", __name__, url_prefix="/search")

PER_KIND = 10
PHONE = re.compile(r"^\+?[0-9 ().\-]{5,30}$")


def _digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def _by_phone(query: str) -> list[dict]:
    """The contacts' `q` does not look at phone numbers; until it does, a
    number typed in the box is matched here, digits only, over the first
    thousand contacts."""
    wanted = _digits(query)
    return [c for c in all_pages(user_api(), "/contacts") if wanted in _digits(c.get("phone"))][:PER_KIND]


def _results(query: str) -> dict:
    answers = user_api().get_many({
        "accounts": ("/accounts", {"q": query, "limit": PER_KIND}),
        "contacts": ("/contacts", {"q": query, "limit": PER_KIND}),
        "deals": ("/opportunities", {"q": query, "limit": PER_KIND}),
    })
    results = {k: (None if isinstance(v, ApiError) else v["items"]) for k, v in answers.items()}
    if PHONE.match(query) and len(_digits(query)) >= 5 and not results["contacts"]:
        try:
            results["contacts"] = _by_phone(query)
        except ApiError:
            results["contacts"] = None
    return results


@bp.get("")
@login_required
def index():
    query = request.args.get("q", "").strip()[:100]
    results = _results(query) if query else {}
    records = (results.get("contacts") or []) + (results.get("deals") or [])
    total = sum(len(v or []) for v in results.values())
    return render_template("search/results.html", query=query, results=results, total=total,
                           names=account_names(records))
