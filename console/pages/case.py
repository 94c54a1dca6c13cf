"""One case: its SLA, its comments (public or internal), its status moves
along the workflow, and the customer's satisfaction once resolved."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import login_required, user_api
from console.forms import Field, FormState, failed, integer, payload
from console.labels import CASE_STATUSES
from console.pages import history
from console.pages.cases import WRITE_ERRORS, assignee_options, bp
from console.sla import sla_state
from console.views import account_names, directory, local_now

# The workflow (services/support: CaseIn.status): which status may follow which.
NEXT_STATUSES = {
    "new": ("open", "pending", "resolved", "closed"), "open": ("pending", "resolved", "closed"),
    "pending": ("open", "resolved", "closed"), "resolved": ("open", "closed"), "closed": (),
}
RATEABLE = ("resolved", "closed")
COMMENT_FIELDS = [Field("body")]
STATUS_FIELDS = [Field("status"), Field("assignee_id")]
RATING_FIELDS = [Field("score", integer), Field("comment")]


def _case_context(case_id, **forms) -> dict:
    answers = user_api().get_many({"case": (f"/cases/{case_id}", {}),
                                   "comments": (f"/cases/{case_id}/comments", {"limit": 200}),
                                   "history": history.latest("cases", case_id)})
    case = answers["case"]
    if isinstance(case, ApiError):
        raise case
    comments = answers["comments"]
    api = user_api()
    contact = None
    if case.get("contact_id"):
        try:
            contact = api.get(f"/contacts/{case['contact_id']}")
        except ApiError:
            contact = None
    authors = {c.get("author_id") for c in ([] if isinstance(comments, ApiError) else comments["items"])}
    return dict(
        case=case, comments=None if isinstance(comments, ApiError) else comments["items"], contact=contact,
        sla=sla_state(case, local_now()), names=account_names([case]),
        people={i: directory().user_name(api, i) for i in authors | {case.get("assignee_id")} if i},
        next_statuses=[(s, CASE_STATUSES[s]) for s in NEXT_STATUSES.get(case["status"], ())],
        assignee_options=assignee_options(), rateable=case["status"] in RATEABLE and not case.get("satisfaction"),
        comment_form=forms.get("comment") or FormState(values={"public": "1"}),
        status_form=forms.get("status") or FormState(values={"assignee_id": case.get("assignee_id") or ""}),
        rating_form=forms.get("rating") or FormState(), **history.section("cases", case_id, answers["history"]))


@bp.get("/<uuid:case_id>")
@login_required
def show(case_id):
    return render_template("cases/show.html", **_case_context(case_id))


def _refused(case_id, exc: ApiError, form_name: str, fields: list[Field]):
    if exc.status not in WRITE_ERRORS:
        raise exc
    context = _case_context(case_id, **{form_name: failed(request.form, exc, fields)})
    return render_template("cases/show.html", **context, open_form=form_name), exc.status


@bp.post("/<uuid:case_id>/comments")
@login_required
def comment(case_id):
    body = {**payload(request.form, COMMENT_FIELDS), "public": request.form.get("public") == "1"}
    try:
        user_api().post(f"/cases/{case_id}/comments", body)
    except ApiError as exc:
        return _refused(case_id, exc, "comment", COMMENT_FIELDS)
    flash(_("The comment was added.") if body["public"] else _("The internal note was added."), "ok")
    return redirect(url_for("cases.show", case_id=case_id) + "#comments", code=303)


@bp.post("/<uuid:case_id>/status")
@login_required
def change(case_id):
    """A status move and/or a new assignee, with the version the user saw."""
    body = {k: v for k, v in payload(request.form, STATUS_FIELDS).items() if v}
    if request.form.get("assignee_id") == request.form.get("current_assignee_id"):
        body.pop("assignee_id", None)
    if not body:
        return redirect(url_for("cases.show", case_id=case_id), code=303)
    try:
        case = user_api().patch(f"/cases/{case_id}", body, version=request.form.get("version")).data
    except ApiError as exc:
        return _refused(case_id, exc, "status", STATUS_FIELDS)
    flash(_("The case is now %(status)s.", status=CASE_STATUSES.get(case["status"], case["status"])), "ok")
    return redirect(url_for("cases.show", case_id=case_id), code=303)


@bp.post("/<uuid:case_id>/satisfaction")
@login_required
def rate(case_id):
    try:
        user_api().post(f"/cases/{case_id}/satisfaction", payload(request.form, RATING_FIELDS))
    except ApiError as exc:
        return _refused(case_id, exc, "rating", RATING_FIELDS)
    flash(_("The customer's satisfaction was recorded."), "ok")
    return redirect(url_for("cases.show", case_id=case_id), code=303)
