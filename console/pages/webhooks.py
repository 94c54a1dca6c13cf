"""Webhooks (administrators): outside endpoints that receive Cadena's events.
The list creates one (its secret shown once, right after), pauses and
resumes; a webhook's page lists the attempts made and replays the history
since a moment."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import login_required, user_api
from console.directory import all_pages
from console.forms import Field, FormState, failed, payload, word_list
from console.pages.users import require

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")

FIELDS = [Field("url"), Field("events", word_list), Field("description")]
WRITE_ERRORS = (400, 403, 404, 409, 412, 422)
DEFAULTS = {"events": "opportunities.opportunity.won, accounts.#"}


def _list_page(form: FormState, created: dict | None = None, status: int = 200):
    hooks = all_pages(user_api(), "/webhooks")
    # The form's own Idempotency-Key: sending it again (a reload) creates nothing more.
    form.values.setdefault("key", uuid.uuid4().hex)
    return render_template("users/webhooks.html", hooks=hooks, form=form, created=created), status


@bp.get("")
@login_required
def index():
    require("manage_webhooks")
    return _list_page(FormState(values=dict(DEFAULTS)))


@bp.post("")
@login_required
def create():
    """The answer is the only time the secret is shown: the page says so."""
    require("manage_webhooks")
    try:
        created = user_api().post("/webhooks", payload(request.form, FIELDS),
                                  idempotency_key=request.form.get("key") or None).data
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _list_page(failed(request.form, exc, FIELDS), status=exc.status)
    return _list_page(FormState(values=dict(DEFAULTS)), created, 201)


@bp.post("/<uuid:webhook_id>/enabled")
@login_required
def set_enabled(webhook_id):
    require("manage_webhooks")
    enabled = request.form.get("enabled") == "1"
    try:
        user_api().patch(f"/webhooks/{webhook_id}", {"enabled": enabled})
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        flash(exc.detail or _("The webhook was not changed."), "problem")
    else:
        flash(_("Deliveries resume.") if enabled else _("Deliveries are paused; what happens meanwhile waits."), "ok")
    return redirect(request.form.get("back") or url_for("webhooks.index"), code=303)


@bp.get("/<uuid:webhook_id>")
@login_required
def show(webhook_id):
    require("manage_webhooks")
    return _show_page(webhook_id, FormState())


def _show_page(webhook_id, replay_form: FormState, status: int = 200):
    api = user_api()
    hook = api.get(f"/webhooks/{webhook_id}")
    attempts = api.get(f"/webhooks/{webhook_id}/deliveries", limit=50, cursor=request.args.get("cursor") or None)
    return render_template("users/webhook.html", hook=hook, attempts=attempts["items"],
                           next_cursor=attempts.get("next_cursor"), replay_form=replay_form), status


def _since(local: str) -> str | None:
    """A datetime-local value, in the console's time zone, as RFC 3339."""
    try:
        moment = datetime.fromisoformat(local)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(current_app.config["CONSOLE_TIMEZONE"]))
    return moment.isoformat()


@bp.post("/<uuid:webhook_id>/replay")
@login_required
def replay(webhook_id):
    require("manage_webhooks")
    typed = request.form.get("since", "")
    since = _since(typed)
    if since is None:
        form = FormState(values={"since": typed}, errors={"since": [_("Choose a date and time.")]})
        return _show_page(webhook_id, form, 422)
    try:
        queued = user_api().post(f"/webhooks/{webhook_id}/replay", {"since": since}).data["queued"]
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        form = FormState(values={"since": typed}, errors={"since": exc.errors.get("since", [])},
                         message=None if exc.errors.get("since") else exc.detail)
        return _show_page(webhook_id, form, exc.status)
    flash(_("%(count)s events will be sent again.", count=queued), "ok")
    return redirect(url_for("webhooks.show", webhook_id=webhook_id), code=303)
