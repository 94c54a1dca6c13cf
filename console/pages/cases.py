"""Support cases: the queue by SLA due with breaches and near-breaches
marked, filters, and opening a case for an account or a contact. One case's
page (comments, status, satisfaction) lives in case.py."""
from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, request, url_for

from console.api import ApiError
from console.auth import current_user, login_required, user_api
from console.directory import all_pages
from console.forms import Field, FormState, failed, payload
from console.labels import CHANNELS, PRIORITIES
from console.pages.agenda import contact_options
from console.permissions import can
from console.sla import next_due, sla_state
from console.views import account_names, account_options, local_now, owner_names, user_options

bp = Blueprint("cases", __name__, url_prefix="/cases")

OPEN = "new,open,pending"
FILTERS = ("status", "priority", "assignee_id", "q")
FIELDS = [Field("subject"), Field("description"), Field("account_id"), Field("contact_id"), Field("priority"),
          Field("channel"), Field("assignee_id")]
WRITE_ERRORS = (400, 403, 409, 412, 422)
CASE_CHANNELS = ("phone", "email", "web", "chat")


def _filters() -> dict:
    return {k: request.args.get(k, "").strip() for k in FILTERS}


def _query(filters: dict) -> dict:
    """The queue shows the cases still to work on unless another status is asked for."""
    query = {k: v for k, v in filters.items() if v}
    status = query.pop("status", "") or OPEN
    if status != "all":
        query["status"] = status
    return query


def assignee_options() -> list[tuple[str, str]]:
    return user_options(("support", "manager"))


@bp.get("")
@login_required
def index():
    filters = _filters()
    error = None
    try:
        cases = all_pages(user_api(), "/cases", **_query(filters))
    except ApiError as exc:
        if exc.status != 422:
            raise
        cases, error = [], exc
    now = local_now()
    cases.sort(key=lambda c: (c.get("status") in ("resolved", "closed"), next_due(c)))
    states = {c["id"]: sla_state(c, now) for c in cases}
    return render_template(
        "cases/queue.html", cases=cases, states=states, filters=filters, error=error, export_query=_query(filters),
        breached=sum(1 for s in states.values() if s == "breached"), near=sum(1 for s in states.values() if s == "near"),
        names=account_names(cases), assignees=owner_names(cases, "assignee_id"), assignee_options=assignee_options(),
        priorities=list(PRIORITIES.items()))


def _form_page(form: FormState, status: int = 200):
    return render_template("cases/new.html", form=form, account_options=account_options(),
                           contact_options=contact_options(form.values.get("account_id")), deal_options=None,
                           links_only="contacts", priorities=list(PRIORITIES.items()),
                           channels=[(c, CHANNELS[c]) for c in CASE_CHANNELS],
                           assignee_options=assignee_options()), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    if request.method == "GET":
        typed = {k: v for k, v in request.args.items() if k != "csrf_token"}
        mine = current_user()["id"] if can("write_case") and current_user()["role"] != "admin" else ""
        return _form_page(FormState(values={"idempotency_key": uuid.uuid4().hex, "priority": "normal",
                                            "channel": "phone", "assignee_id": mine, **typed}))
    body = {k: v for k, v in payload(request.form, FIELDS).items() if v is not None}
    try:
        reply = user_api().post("/cases", body, idempotency_key=request.form.get("idempotency_key") or None)
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page(failed(request.form, exc, FIELDS), exc.status)
    return redirect(url_for("cases.show", case_id=reply.data["id"], opened=1), code=303)


from console.pages import case  # noqa: E402,F401  (one case's page registers on this blueprint)
