"""One activity: what it is about, and for a planned one, completing it with
its outcome, minutes and agreements, or moving it to another time."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.activity_forms import COMPLETE_FIELDS, local_time, typed_time
from console.api import ApiError
from console.auth import login_required, user_api
from console.forms import Field, FormState, failed, payload
from console.i18n import moment
from console.pages.agenda import WRITE_ERRORS, bp
from console.views import account_names, directory

RESCHEDULE_FIELDS = [Field("starts_at", local_time), Field("ends_at", local_time), Field("remind_at", local_time)]


def _time_field(activity: dict) -> str:
    return "due_at" if activity.get("type") == "task" and not activity.get("starts_at") else "starts_at"


def _related(activity: dict) -> dict:
    wanted = {}
    if activity.get("contact_id"):
        wanted["contact"] = (f"/contacts/{activity['contact_id']}", {})
    if activity.get("opportunity_id"):
        wanted["deal"] = (f"/opportunities/{activity['opportunity_id']}", {})
    answers = user_api().get_many(wanted)
    return {k: (None if isinstance(v, ApiError) else v) for k, v in answers.items()}


def _page(activity: dict, complete: FormState | None = None, reschedule: FormState | None = None,
          status: int = 200, open_form: str | None = None):
    when = _time_field(activity)
    reschedule = reschedule or FormState(values={
        "starts_at": typed_time(activity.get(when)), "ends_at": typed_time(activity.get("ends_at")),
        "remind_at": typed_time(activity.get("remind_at"))})
    return render_template(
        "agenda/activity.html", a=activity, related=_related(activity), names=account_names([activity]),
        owner_name=directory().user_name(user_api(), activity.get("owner_id")),
        complete_form=complete or FormState(), reschedule_form=reschedule, open_form=open_form), status


@bp.get("/<uuid:activity_id>")
@login_required
def show(activity_id):
    return _page(user_api().get(f"/activities/{activity_id}"))


@bp.post("/<uuid:activity_id>/complete")
@login_required
def complete(activity_id):
    body = payload(request.form, COMPLETE_FIELDS)
    try:
        done = user_api().call("POST", f"/activities/{activity_id}/complete", body=body).data
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        activity = user_api().get(f"/activities/{activity_id}")
        return _page(activity, complete=failed(request.form, exc, COMPLETE_FIELDS), status=exc.status,
                     open_form="complete")
    flash(_("Done: %(subject)s. The minutes are on the customer's page.", subject=done.get("subject") or ""), "ok")
    return redirect(url_for("agenda.show", activity_id=activity_id), code=303)


@bp.post("/<uuid:activity_id>/reschedule")
@login_required
def reschedule(activity_id):
    """PATCH the times with the version the user saw (a task's is its due time)."""
    activity = user_api().get(f"/activities/{activity_id}")
    body = payload(request.form, RESCHEDULE_FIELDS)
    when = _time_field(activity)
    body[when] = body.pop("starts_at")
    try:
        moved = user_api().patch(f"/activities/{activity_id}", body, version=request.form.get("version")).data
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        errors = exc.problem.get("errors") or {}
        if when in errors and when != "starts_at":
            errors["starts_at"] = errors.pop(when)
        return _page(activity, reschedule=failed(request.form, exc, RESCHEDULE_FIELDS), status=exc.status,
                     open_form="reschedule")
    flash(_("Moved to %(when)s.", when=moment(moved.get(when), "short")), "ok")
    return redirect(url_for("agenda.show", activity_id=activity_id), code=303)
