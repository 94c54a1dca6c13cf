"""Campaigns: the list, creating one and changing a draft, with a segment
builder whose count of matching contacts follows what is typed (htmx). One
campaign's page (members, launch, ROI) lives in campaign.py."""
from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, request, url_for

from console.activity_forms import local_time, typed_time
from console.api import ApiError
from console.auth import current_user, login_required, user_api
from console.forms import Field, FormState, failed, payload, values_of, word_list
from console.labels import CHANNELS, LIFECYCLE, SEGMENTS
from console.views import is_htmx, owner_names

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

FIELDS = [Field("name"), Field("channel"), Field("description"), Field("starts_at", local_time),
          Field("ends_at", local_time), Field("budget", money=True), Field("actual_cost", money=True)]
SEGMENT_LISTS = ("industry", "country", "region", "interests")
SEGMENT_CHOICES = ("account_segment", "lifecycle_stage")
SEGMENT_BOUNDS = ("annual_revenue_min", "annual_revenue_max")
SEGMENT_FIELDS = [Field(n) for n in SEGMENT_LISTS + SEGMENT_CHOICES + SEGMENT_BOUNDS]
CAMPAIGN_CHANNELS = ("email", "phone", "event", "web", "other")
WRITE_ERRORS = (400, 403, 409, 412, 422)


@bp.get("")
@login_required
def index():
    status = request.args.get("status", "")
    query = {"status": status or None, "q": request.args.get("q", "").strip() or None, "limit": 100}
    campaigns = user_api().get("/campaigns", **query)["items"]
    return render_template("campaigns/list.html", campaigns=campaigns, status=status, q=query["q"] or "",
                           owners=owner_names(campaigns))


def segment_of(form) -> dict:
    """The segment the builder's boxes describe (empty boxes do not filter)."""
    segment = {name: word_list(form.get(name)) for name in SEGMENT_LISTS}
    segment.update({name: form.getlist(name) for name in SEGMENT_CHOICES})
    for name in SEGMENT_BOUNDS:
        typed = (form.get(name) or "").strip().replace(" ", "")
        segment[name] = typed.replace(",", ".") if typed else None
    return segment


def _beside_segment_fields(exc: ApiError) -> ApiError:
    """'segment.country.0' is shown beside the country box."""
    errors = exc.problem.get("errors") or {}
    for key in list(errors):
        if key.startswith("segment."):
            errors.setdefault(key.split(".")[1], []).extend(errors.pop(key))
    return exc


def _refilled(form, exc: ApiError, fields: list[Field]) -> FormState:
    state = failed(form, _beside_segment_fields(exc), fields)
    state.values.update({name: form.getlist(name) for name in SEGMENT_CHOICES})
    return state


def count_of(segment: dict) -> dict:
    """The live count: {"count": n}, or {"errors": …} when the segment is not valid yet."""
    try:
        return user_api().post("/campaigns/segment-count", {"segment": segment}).data
    except ApiError as exc:
        if exc.status not in (400, 403, 422):
            raise
        return {"errors": _beside_segment_fields(exc).errors, "forbidden": exc.status == 403}


def _form_page(form: FormState, campaign: dict | None = None, status: int = 200, count: dict | None = None):
    if count is None:
        count = count_of(segment_of(_Typed(form.values)))
    return render_template(
        "campaigns/form.html", form=form, campaign=campaign, count=count,
        channels=[(c, CHANNELS[c]) for c in CAMPAIGN_CHANNELS], segments=list(SEGMENTS.items()),
        stages=list(LIFECYCLE.items())), status


class _Typed(dict):
    """Form values kept in a dict, read like the submitted form."""

    def getlist(self, name):
        value = self.get(name)
        return value if isinstance(value, list) else ([value] if value else [])


def _segment_values(segment: dict) -> dict:
    values = {name: ", ".join(segment.get(name) or []) for name in SEGMENT_LISTS}
    values.update({name: list(segment.get(name) or []) for name in SEGMENT_CHOICES})
    values.update({name: (segment.get(name) or {}).get("amount", "") for name in SEGMENT_BOUNDS})
    return values


@bp.post("/segment-count")
@login_required
def segment_count():
    """The builder's live count (htmx); without JavaScript the form again, with its count."""
    count = count_of(segment_of(request.form))
    if is_htmx():
        return render_template("campaigns/_count.html", count=count)
    state = FormState(values={**dict(request.form.items()),
                              **{n: request.form.getlist(n) for n in SEGMENT_CHOICES}})
    campaign_id = request.form.get("campaign_id")
    campaign = user_api().get(f"/campaigns/{campaign_id}") if campaign_id else None
    return _form_page(state, campaign, count=count)


def _body(form) -> dict:
    return {**payload(form, FIELDS), "segment": segment_of(form)}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    if request.method == "GET":
        return _form_page(FormState(values={"channel": "email", "budget_currency": "EUR",
                                            "actual_cost_currency": "EUR", "idempotency_key": uuid.uuid4().hex,
                                            "owner_id": current_user()["id"]}))
    try:
        reply = user_api().post("/campaigns", _body(request.form),
                                idempotency_key=request.form.get("idempotency_key") or None)
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page(_refilled(request.form, exc, FIELDS + SEGMENT_FIELDS), status=exc.status)
    return redirect(url_for("campaigns.show", campaign_id=reply.data["id"], created=1), code=303)


@bp.route("/<uuid:campaign_id>/edit", methods=["GET", "POST"])
@login_required
def edit(campaign_id):
    campaign = user_api().get(f"/campaigns/{campaign_id}")
    if request.method == "GET":
        values = {**values_of(campaign, FIELDS), **_segment_values(campaign.get("segment") or {}),
                  "starts_at": typed_time(campaign.get("starts_at")), "ends_at": typed_time(campaign.get("ends_at")),
                  "version": campaign["version"]}
        return _form_page(FormState(values=values), campaign)
    try:
        user_api().patch(f"/campaigns/{campaign_id}", _body(request.form), version=request.form.get("version"))
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page(_refilled(request.form, exc, FIELDS + SEGMENT_FIELDS), campaign, exc.status)
    return redirect(url_for("campaigns.show", campaign_id=campaign_id), code=303)


from console.pages import campaign  # noqa: E402,F401  (one campaign's page registers on this blueprint)
