"""Contacts: the list, one contact, creating and editing one."""
from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, request, url_for

from console.api import ApiError
from console.auth import current_user, login_required, user_api
from console.forms import Field, FormState, failed, payload, values_of, word_list
from console.labels import CONTACT_ROLES
from console.pages import history
from console.views import account_names, account_options, is_htmx, owner_names, user_options

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

FIELDS = [
    Field("first_name"), Field("last_name"), Field("nickname"), Field("email"), Field("phone"), Field("title"),
    Field("account_id"), Field("role"), Field("reports_to_id"), Field("owner_id"), Field("interests", word_list),
    Field("notes"),
]
FILTERS = ("q", "lifecycle_stage", "role", "owner_id", "account_id")
PAGE = 25
WRITE_ERRORS = (400, 403, 409, 412, 422)


def _filters() -> dict:
    return {k: request.args.get(k, "").strip() for k in FILTERS}


@bp.get("")
@login_required
def index():
    filters = _filters()
    error = None
    try:
        answer = user_api().get("/contacts", limit=PAGE, cursor=request.args.get("cursor"), **filters)
    except ApiError as exc:
        if exc.status != 422:
            raise
        answer, error = {"items": [], "next_cursor": None}, exc
    contacts, cursor = answer["items"], answer.get("next_cursor")
    more = url_for("contacts.index", cursor=cursor, fragment="items", **{k: v for k, v in filters.items() if v}) \
        if cursor else None
    context = dict(contacts=contacts, more=more, filters=filters, error=error, accounts=account_names(contacts),
                   owner_options=user_options(), roles=list(CONTACT_ROLES.items()))
    if is_htmx() and request.args.get("fragment") == "items":
        return render_template("contacts/_items.html", **context)
    if is_htmx():
        return render_template("contacts/_results.html", **context)
    return render_template("contacts/list.html", **context)


@bp.get("/<uuid:contact_id>")
@login_required
def show(contact_id):
    contact = user_api().get(f"/contacts/{contact_id}")
    wanted = {"activities": ("/activities", {"contact_id": str(contact_id), "sort": "-time", "limit": 10}),
              "history": history.latest("contacts", contact_id)}
    if contact.get("reports_to_id"):
        wanted["boss"] = (f"/contacts/{contact['reports_to_id']}", {})
    related = user_api().get_many(wanted)
    activities = related["activities"]
    return render_template(
        "contacts/show.html", contact=contact, accounts=account_names([contact]), owners=owner_names([contact]),
        activities=None if isinstance(activities, ApiError) else activities["items"],
        boss=None if isinstance(related.get("boss"), ApiError) else related.get("boss"),
        **history.section("contacts", contact_id, related["history"]))


def _colleague_options(account_id: str | None, own_id: str | None = None) -> list[tuple[str, str]]:
    if not account_id:
        return []
    people = user_api().get(f"/accounts/{account_id}/contacts", limit=200)["items"]
    return [(p["id"], p.get("name") or p.get("email")) for p in people if p["id"] != own_id]


def _form_page(form: FormState, contact: dict | None = None, status: int = 200):
    account_id = form.values.get("account_id") or (contact or {}).get("account_id")
    return render_template(
        "contacts/form.html", form=form, contact=contact, owner_options=user_options(),
        account_options=account_options(), roles=list(CONTACT_ROLES.items()),
        colleagues=_colleague_options(account_id, (contact or {}).get("id"))), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    if request.method == "GET":
        return _form_page(FormState(values={"owner_id": current_user()["id"],
                                            "account_id": request.args.get("account_id", ""),
                                            "idempotency_key": uuid.uuid4().hex}))
    try:
        reply = user_api().post("/contacts", payload(request.form, FIELDS),
                                idempotency_key=request.form.get("idempotency_key") or None)
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page(failed(request.form, exc, FIELDS), status=exc.status)
    return redirect(url_for("contacts.show", contact_id=reply.data["id"]), code=303)


@bp.route("/<uuid:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id):
    contact = user_api().get(f"/contacts/{contact_id}")
    if request.method == "GET":
        return _form_page(FormState(values={**values_of(contact, FIELDS), "version": contact["version"]}), contact)
    try:
        user_api().patch(f"/contacts/{contact_id}", payload(request.form, FIELDS), version=request.form.get("version"))
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page(failed(request.form, exc, FIELDS), contact, status=exc.status)
    return redirect(url_for("contacts.show", contact_id=contact_id), code=303)

