"""The agenda: a week of someone's activities (their own, or a rep's for a
manager), with reminders; planning an activity, logging a call that
happened, and the iCalendar subscription link."""
from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.activity_forms import CALL_FIELDS, local_time, record_call
from console.api import ApiError
from console.auth import current_user, login_required, user_api
from console.forms import Field, FormState, failed, payload
from console.i18n import parse_time
from console.labels import ACTIVITY_TYPES
from console.periods import localized, parse_day, week_start
from console.permissions import can
from console.views import account_names, account_options, directory, local_now, user_options, zone

bp = Blueprint("agenda", __name__, url_prefix="/agenda")

PLAN_FIELDS = [Field("type"), Field("subject"), Field("starts_at", local_time), Field("ends_at", local_time),
               Field("remind_at", local_time), Field("location"), Field("account_id"), Field("contact_id"),
               Field("opportunity_id"), Field("owner_id"), Field("notes")]
LOG_FIELDS = CALL_FIELDS + [Field("account_id"), Field("opportunity_id")]
WRITE_ERRORS = (400, 403, 409, 412, 422)


def _owner_choices() -> list[tuple[str, str]]:
    """Whose agenda this user may pick: a manager their team, an admin anyone."""
    user = current_user()
    if user["role"] == "admin":
        return user_options(("rep", "manager", "support", "marketing"))
    team = directory().team_of(user_api(), user.get("team") or "")
    return [(i, n) for i, n in user_options(("rep", "manager")) if i in team or i == user["id"]]


def _owner(requested: str | None) -> str:
    user = current_user()
    if requested and can("see_team_agenda") and requested in {i for i, _n in _owner_choices()}:
        return requested
    return user["id"]


def _days(start, items: list[dict]) -> list[dict]:
    """Seven days from Monday, each with its activities in the user's zone."""
    days = [{"date": start + timedelta(days=i), "items": []} for i in range(7)]
    for item in items:
        when = parse_time(item.get("starts_at") or item.get("due_at"))
        if when is None:
            continue
        index = (when.astimezone(zone()).date() - start).days
        if 0 <= index < 7:
            days[index]["items"].append(item)
    return days


def _week_context(owner_id: str, start) -> dict:
    end = start + timedelta(days=7)
    wanted = {"agenda": ("/agenda", {"owner_id": owner_id, "from": localized(zone(), start).isoformat(),
                                     "to": localized(zone(), end).isoformat(), "limit": 200})}
    own_feed = owner_id == current_user()["id"] or current_user()["role"] == "admin"
    if own_feed:
        wanted["feed"] = (f"/users/{owner_id}/calendar-token", {})
    answers = user_api().get_many(wanted)
    agenda = answers["agenda"]
    if isinstance(agenda, ApiError) and agenda.status != 422:
        raise agenda
    items = [] if isinstance(agenda, ApiError) else agenda["items"]
    feed = answers.get("feed")
    return dict(owner_id=owner_id, owner_name=directory().user_name(user_api(), owner_id), start=start,
                export_query={"owner_id": owner_id, "from": wanted["agenda"][1]["from"],
                              "to": wanted["agenda"][1]["to"], "sort": "time"},
                end=end - timedelta(days=1), days=_days(start, items), names=account_names(items),
                now=local_now(), today=local_now().date(), count=len(items),
                previous=start - timedelta(days=7), following=end, owner_choices=_owner_choices()
                if can("see_team_agenda") else [], feed=None if isinstance(feed, ApiError) else feed)


@bp.get("")
@login_required
def week():
    start = week_start(parse_day(request.args.get("week")) or local_now().date())
    return render_template("agenda/week.html", **_week_context(_owner(request.args.get("owner_id")), start))


@bp.post("/calendar-token")
@login_required
def rotate_feed():
    """A new subscription link; the old one stops working at once."""
    user_api().post(f"/users/{current_user()['id']}/calendar-token")
    flash(_("A new subscription link was made; the old one no longer works. Subscribe again with the new one."),
          "ok")
    return redirect(url_for("agenda.week") + "#feed", code=303)


def _links(account_id: str | None, with_deals: bool = True) -> dict:
    """Who and what at the account an activity (or a case) can be about."""
    if not account_id:
        return {"contact_options": [], "deal_options": [] if with_deals else None}
    wanted = {"contacts": (f"/accounts/{account_id}/contacts", {"limit": 200})}
    if with_deals:
        wanted["deals"] = ("/opportunities", {"account_id": account_id, "status": "open", "limit": 200})
    answers = user_api().get_many(wanted)
    pick = lambda a, name: [] if isinstance(a, ApiError) else [(i["id"], name(i)) for i in a["items"]]  # noqa: E731
    return {"contact_options": pick(answers["contacts"], lambda c: c.get("name") or c.get("email") or "—"),
            "deal_options": pick(answers["deals"], lambda d: d["name"]) if with_deals else None}


def contact_options(account_id: str | None) -> list[tuple[str, str]]:
    return _links(account_id, with_deals=False)["contact_options"]


@bp.get("/links")
@login_required
def links():
    """The contact (and deal) choices of an account (htmx, when the account changes)."""
    form = FormState(values=dict(request.args.items()))
    return render_template("agenda/_links.html", form=form,
                           **_links(request.args.get("account_id"), request.args.get("only") != "contacts"))


def _form_page(template: str, form: FormState, status: int = 200):
    return render_template(template, form=form, account_options=account_options(),
                           owner_options=_owner_choices() if can("see_team_agenda") else [],
                           types=list(ACTIVITY_TYPES.items()), **_links(form.values.get("account_id"))), status


def _new_form(**values) -> FormState:
    """A blank form, or one filled from the address (a link's account, or what
    was typed before "show its people and deals" without JavaScript)."""
    typed = {k: v for k, v in request.args.items() if k != "csrf_token"}
    return FormState(values={"idempotency_key": uuid.uuid4().hex, "owner_id": current_user()["id"],
                             "type": "call", **typed, **values})


def _plan_body(form) -> dict:
    body = payload(form, PLAN_FIELDS)
    if body.get("type") == "task":  # a task is due at a time rather than starting at one
        body["due_at"] = body.pop("starts_at", None)
    return {k: v for k, v in body.items() if v is not None}


def _errors_beside_when(exc: ApiError) -> ApiError:
    """A task's due_at is typed in the same box as the others' starts_at."""
    errors = exc.problem.get("errors") or {}
    if "due_at" in errors:
        errors.setdefault("starts_at", []).extend(errors.pop("due_at"))
    return exc


@bp.route("/new", methods=["GET", "POST"])
@login_required
def plan():
    if request.method == "GET":
        return _form_page("agenda/plan.html", _new_form())
    try:
        reply = user_api().post("/activities", _plan_body(request.form),
                                idempotency_key=request.form.get("idempotency_key") or None)
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page("agenda/plan.html", failed(request.form, _errors_beside_when(exc), PLAN_FIELDS),
                          exc.status)
    flash(_("Planned: %(subject)s.", subject=reply.data.get("subject") or ""), "ok")
    return _back_to_week(reply.data)


def _back_to_week(activity: dict):
    when = parse_time(activity.get("starts_at") or activity.get("due_at"))
    week = week_start(when.astimezone(zone()).date()).isoformat() if when else None
    owner = activity.get("owner_id") if activity.get("owner_id") != current_user()["id"] else None
    return redirect(url_for("agenda.week", week=week, owner_id=owner), code=303)


@bp.route("/log", methods=["GET", "POST"])
@login_required
def log_call():
    """A call that happened, in one form: what was said, what was agreed."""
    if request.method == "GET":
        return _form_page("agenda/log.html", _new_form())
    body = {k: v for k, v in payload(request.form, LOG_FIELDS).items() if v is not None}
    try:
        call = record_call(body, request.form.get("idempotency_key"))
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page("agenda/log.html", failed(request.form, exc, LOG_FIELDS), exc.status)
    flash(_("The call was logged."), "ok")
    return _back_to_week(call)


from console.pages import activity  # noqa: E402,F401  (one activity's page registers on this blueprint)
