"""Duplicates to review: contacts or accounts that may be the same, side by
side with the rules that say so (GET /api/v1/{contacts|accounts}/duplicates).

Merging is not offered yet: the place for it is marked in
templates/duplicates/list.html (a form posting to POST
/api/v1/{contacts|accounts}/{id}/merge once that exists)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console.api import ApiError
from console.auth import login_required, user_api
from console.views import account_names

bp = Blueprint("duplicates", __name__, url_prefix="/duplicates")

PAGE = 20
KINDS = {"contacts": _l("Duplicate contacts"), "accounts": _l("Duplicate accounts")}
REASONS = {
    "same_email": _l("Same e-mail"), "same_phone": _l("Same phone"),
    "similar_name_same_account": _l("Similar name, same account"), "same_tax_id": _l("Same tax id"),
    "same_website_domain": _l("Same website"), "similar_name": _l("Similar name"),
}


def _records(kind: str, groups: list[dict]) -> dict[str, dict]:
    """Every record of the page, read at once; one that cannot be read is left out."""
    wanted = {ident: (f"/{kind}/{ident}", {}) for group in groups for ident in group["ids"]}
    answers = user_api().get_many(wanted) if wanted else {}
    return {ident: answer for ident, answer in answers.items() if not isinstance(answer, ApiError)}


@bp.get("/<kind>")
@login_required
def index(kind: str):
    if kind not in KINDS:
        abort(404)
    answer = user_api().get(f"/{kind}/duplicates", limit=PAGE, cursor=request.args.get("cursor"))
    groups = answer["items"]
    records = _records(kind, groups)
    names = account_names(list(records.values())) if kind == "contacts" else {}
    cursor = answer.get("next_cursor")
    more = url_for("duplicates.index", kind=kind, cursor=cursor) if cursor else None
    return render_template("duplicates/list.html", kind=kind, kinds=KINDS, title=KINDS[kind], groups=groups,
                           records=records, names=names, reasons=REASONS, more=more)
