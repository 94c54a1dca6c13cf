"""Accounts: the list with search and filters, creating and editing one.
The account's own page (the customer 360) lives in customer.py."""
from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, request, url_for

from console.api import ApiError
from console.auth import current_user, login_required, user_api
from console.directory import all_pages
from console.forms import Field, FormState, failed, integer, payload, values_of, word_list
from console.labels import SEGMENTS
from console.views import is_htmx, owner_names, user_options

bp = Blueprint("accounts", __name__, url_prefix="/accounts")

FIELDS = [
    Field("name"), Field("industry"), Field("segment"), Field("country"), Field("region"), Field("city"),
    Field("website"), Field("tax_id"), Field("employees", integer), Field("annual_revenue", money=True),
    Field("owner_id"), Field("tags", word_list), Field("notes"),
]
FILTERS = ("q", "industry", "country", "segment", "owner_id", "lifecycle_stage")
PAGE = 25


def _filters() -> dict:
    return {k: request.args.get(k, "").strip() for k in FILTERS}


def _accounts_with_contacts_in(stage: str) -> set[str]:
    """Accounts have no lifecycle of their own: an account is in a stage when
    one of its contacts is (read from the contacts list, up to 1,000)."""
    return {c["account_id"] for c in all_pages(user_api(), "/contacts", lifecycle_stage=stage) if c.get("account_id")}


def _page(filters: dict) -> tuple[list[dict], str | None]:
    query = {k: v for k, v in filters.items() if k != "lifecycle_stage"}
    if filters["lifecycle_stage"]:
        wanted = _accounts_with_contacts_in(filters["lifecycle_stage"])
        return [a for a in all_pages(user_api(), "/accounts", **query) if a["id"] in wanted], None
    answer = user_api().get("/accounts", limit=PAGE, cursor=request.args.get("cursor"), **query)
    return answer["items"], answer.get("next_cursor")


@bp.get("")
@login_required
def index():
    filters = _filters()
    error = None
    try:
        accounts, cursor = _page(filters)
    except ApiError as exc:
        if exc.status != 422:
            raise
        accounts, cursor, error = [], None, exc
    more = url_for("accounts.index", cursor=cursor, fragment="items", **{k: v for k, v in filters.items() if v}) \
        if cursor else None
    context = dict(accounts=accounts, more=more, filters=filters, error=error, owners=owner_names(accounts),
                   owner_options=user_options(), segments=list(SEGMENTS.items()))
    if is_htmx() and request.args.get("fragment") == "items":
        return render_template("accounts/_items.html", **context)
    if is_htmx():
        return render_template("accounts/_results.html", **context)
    return render_template("accounts/list.html", **context)


def _form_page(form: FormState, account: dict | None = None, status: int = 200):
    return render_template("accounts/form.html", form=form, account=account, owner_options=user_options(),
                           segments=list(SEGMENTS.items())), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    if request.method == "GET":
        return _form_page(FormState(values={"owner_id": current_user()["id"], "annual_revenue_currency": "EUR",
                                            "idempotency_key": uuid.uuid4().hex}))
    try:
        reply = user_api().post("/accounts", payload(request.form, FIELDS),
                                idempotency_key=request.form.get("idempotency_key") or None)
    except ApiError as exc:
        if exc.status not in (400, 403, 409, 412, 422):
            raise
        return _form_page(failed(request.form, exc, FIELDS), status=exc.status)
    return redirect(url_for("accounts.show", account_id=reply.data["id"]), code=303)


@bp.route("/<uuid:account_id>/edit", methods=["GET", "POST"])
@login_required
def edit(account_id):
    account = user_api().get(f"/accounts/{account_id}")
    if request.method == "GET":
        return _form_page(FormState(values={**values_of(account, FIELDS), "version": account["version"]}), account)
    try:
        user_api().patch(f"/accounts/{account_id}", payload(request.form, FIELDS),
                         version=request.form.get("version"))
    except ApiError as exc:
        if exc.status not in (400, 403, 409, 412, 422):
            raise
        return _form_page(failed(request.form, exc, FIELDS), account, status=exc.status)
    return redirect(url_for("accounts.show", account_id=account_id), code=303)


from console.pages import customer  # noqa: E402,F401  (the 360 page registers on this blueprint)
