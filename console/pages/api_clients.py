"""API clients (administrators): identities for internal apps, with a role
of their own; the secret is shown once, right after creating one."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import login_required, user_api
from console.directory import all_pages
from console.forms import Field, FormState, failed, payload
from console.labels import ROLES
from console.pages.users import require

bp = Blueprint("api_clients", __name__, url_prefix="/admin/api-clients")

FIELDS = [Field("name"), Field("role")]


def _page(form: FormState, created: dict | None = None, status: int = 200):
    clients = all_pages(user_api(), "/api-clients")
    clients.sort(key=lambda c: (not c.get("active"), (c.get("name") or "").lower()))
    return render_template("users/api_clients.html", clients=clients, form=form, created=created,
                           roles=list(ROLES.items())), status


@bp.get("")
@login_required
def index():
    require("manage_api_clients")
    return _page(FormState(values={"role": "readonly"}))


@bp.post("")
@login_required
def create():
    """The answer is the only time the secret is shown: the page says so."""
    require("manage_api_clients")
    try:
        created = user_api().post("/api-clients", payload(request.form, FIELDS)).data
    except ApiError as exc:
        if exc.status not in (400, 403, 409, 422):
            raise
        return _page(failed(request.form, exc, FIELDS), status=exc.status)
    return _page(FormState(values={"role": "readonly"}), created, 201)


@bp.post("/<uuid:client_id>/revoke")
@login_required
def revoke(client_id):
    require("manage_api_clients")
    user_api().delete(f"/api-clients/{client_id}")
    flash(_("%(name)s is revoked: its tokens stop working within seconds.", name=request.form.get("name", "")), "ok")
    return redirect(url_for("api_clients.index"), code=303)
