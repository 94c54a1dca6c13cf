"""An account's page: the customer 360 in one place, the timeline, and a
form that logs a call in two clicks."""
from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for

from console.activity_forms import CALL_FIELDS, record_call
from console.api import ApiError
from console.auth import login_required, user_api
from console.forms import FormState, failed, payload
from console.pages import history
from console.pages.accounts import bp
from console.views import directory, is_htmx

TIMELINE_PAGE = 15


def _org_people(contacts: list[dict]) -> dict[str, dict]:
    """The org chart's nodes carry names and titles; the page also wants each
    person's nickname and notes, which live on the contact."""
    return {c["id"]: c for c in contacts}


def _person(contact: dict) -> str:
    return contact.get("name") or " ".join(filter(None, [contact.get("first_name"), contact.get("last_name")])) \
        or contact.get("email") or "—"


def _health_of(view) -> dict | None:
    return view if isinstance(view, dict) and view else None


def _people_names(data: dict) -> dict[str, str]:
    records = [*data.get("opportunities", {}).get("open", []), *data.get("opportunities", {}).get("won", []),
               *data.get("activities", {}).get("upcoming", []), *data.get("activities", {}).get("recent", [])]
    api = user_api()
    ids = {r.get("owner_id") for r in records} | {c.get("assignee_id") for c in data.get("cases", {}).get("open", [])}
    ids.add((data.get("account") or {}).get("owner_id"))
    return {i: directory().user_name(api, i) for i in ids if i}


def _context(account_id, call_form: FormState | None = None) -> dict:
    answers = user_api().get_many({
        "c360": (f"/customers/{account_id}/360", {}),
        "org": (f"/accounts/{account_id}/org-chart", {}),
        "timeline": (f"/customers/{account_id}/timeline", {"limit": TIMELINE_PAGE}),
        "installed": (f"/accounts/{account_id}/products", {}),
        "recommended": (f"/accounts/{account_id}/recommendations", {"limit": 5}),
        "history": history.latest("accounts", account_id),
    })
    data = answers["c360"]
    if isinstance(data, ApiError):
        raise data  # no account to show: the error page says why
    contacts = data.get("contacts") or []
    org = answers["org"] if not isinstance(answers["org"], ApiError) else None
    timeline = answers["timeline"] if not isinstance(answers["timeline"], ApiError) else None
    return dict(c=data, account=data["account"], view=_health_of(data.get("view")), people=_org_people(contacts),
                contacts=contacts, org=org, contact_options=[(p["id"], _person(p)) for p in contacts], timeline=timeline, names=_people_names(data),
                unavailable=set(data.get("unavailable") or []),
                installed=_answer(answers["installed"]), recommended=_answer(answers["recommended"]),
                call_form=call_form or FormState(values={"idempotency_key": uuid.uuid4().hex}),
                timeline_more=_timeline_more(account_id, timeline), **history.section("accounts", account_id, answers["history"]))


def _answer(answer) -> dict | None:
    """A part of the page from its own call; None (shown as unavailable) when it failed."""
    return None if isinstance(answer, ApiError) else answer


def _timeline_more(account_id, timeline) -> str | None:
    cursor = (timeline or {}).get("next_cursor")
    return url_for("accounts.timeline", account_id=account_id, cursor=cursor) if cursor else None


@bp.get("/<uuid:account_id>")
@login_required
def show(account_id):
    return render_template("accounts/show.html", **_context(account_id))


@bp.get("/<uuid:account_id>/timeline")
@login_required
def timeline(account_id):
    page = user_api().get(f"/customers/{account_id}/timeline", limit=TIMELINE_PAGE,
                          cursor=request.args.get("cursor"))
    template = "accounts/_timeline_items.html" if is_htmx() else "accounts/timeline.html"
    return render_template(template, timeline=page, account_id=account_id,
                           timeline_more=_timeline_more(account_id, page))


@bp.post("/<uuid:account_id>/calls")
@login_required
def log_call(account_id):
    """A call that happened, logged from the customer's page."""
    body = {**payload(request.form, CALL_FIELDS), "account_id": str(account_id)}
    try:
        record_call(body, request.form.get("idempotency_key"))
    except ApiError as exc:
        if exc.status not in (400, 403, 409, 422):
            raise
        context = _context(account_id, failed(request.form, exc, CALL_FIELDS))
        return render_template("accounts/show.html", **context, call_open=True), exc.status
    return redirect(url_for("accounts.show", account_id=account_id, logged=1) + "#activities", code=303)
