"""Users for administrators: who they are, their role, team and manager;
creating, editing and deactivating them. A manager sees their own team,
read-only. The handover wizard and API clients have pages of their own."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import current_user, login_required, user_api
from console.directory import all_pages
from console.forms import Field, FormState, failed, payload, values_of
from console.labels import ROLES
from console.permissions import can
from console.views import directory

bp = Blueprint("users", __name__, url_prefix="/admin/users")

FIELDS = [Field("name"), Field("email"), Field("role"), Field("team"), Field("manager_id"), Field("password")]
FILTERS = ("q", "role", "team", "active")
WRITE_ERRORS = (400, 403, 404, 409, 412, 422)


def require(action: str) -> None:
    """A page this role cannot use is the API's 403, said politely."""
    if not can(action):
        raise ApiError(403, {"detail": _("Ask an administrator if you need it.")})


def _filters() -> dict:
    filters = {k: request.args.get(k, "").strip() for k in FILTERS}
    if not can("manage_users"):  # a manager sees their own team
        filters["team"] = current_user().get("team") or ""
    return filters


@bp.get("")
@login_required
def index():
    require("see_users")
    filters = _filters()
    query = {k: v for k, v in filters.items() if v}
    users = all_pages(user_api(), "/users", **query)
    everyone = directory().all_users(user_api())
    return render_template("users/list.html", users=users, filters=filters, roles=list(ROLES.items()),
                           teams=directory().teams(user_api()), names={u["id"]: u["name"] for u in everyone},
                           may_hand_over=hand_over_allowed())


def hand_over_allowed():
    """Whom this user may hand over: an admin anyone, a manager their reports."""
    me = current_user()
    if me["role"] == "admin":
        return lambda u: u["id"] != me["id"]
    if me["role"] == "manager":
        return lambda u: u.get("manager_id") == me["id"]
    return lambda u: False


def _manager_options(own_id: str | None = None) -> list[tuple[str, str]]:
    users = directory().all_users(user_api())
    return [(u["id"], u["name"]) for u in users
            if u.get("role") in ("manager", "admin") and u.get("active", True) and u["id"] != own_id]


def _form_page(form: FormState, person: dict | None = None, status: int = 200):
    return render_template("users/form.html", form=form, person=person, roles=list(ROLES.items()),
                           teams=directory().teams(user_api()),
                           managers=_manager_options((person or {}).get("id"))), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    require("manage_users")
    if request.method == "GET":
        return _form_page(FormState(values={"role": "rep"}))
    body = {k: v for k, v in payload(request.form, FIELDS).items() if v is not None}
    try:
        reply = user_api().post("/users", body)
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page(failed(request.form, exc, FIELDS), status=exc.status)
    directory().forget_users()  # the new name shows at once
    flash(_("%(name)s can now sign in.", name=reply.data["name"]), "ok")
    return redirect(url_for("users.index"), code=303)


@bp.route("/<uuid:user_id>/edit", methods=["GET", "POST"])
@login_required
def edit(user_id):
    require("manage_users")
    person = user_api().get(f"/users/{user_id}")
    if request.method == "GET":
        values = {**values_of(person, FIELDS), "password": "", "version": person["version"]}
        return _form_page(FormState(values=values), person)
    body = payload(request.form, FIELDS)
    if not body.get("password"):
        body.pop("password", None)  # left empty: the password stays
    try:
        user_api().patch(f"/users/{user_id}", body, version=request.form.get("version"))
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        return _form_page(failed(request.form, exc, FIELDS), person, exc.status)
    directory().forget_users()
    flash(_("%(name)s was saved.", name=body.get("name") or person["name"]), "ok")
    return redirect(url_for("users.index"), code=303)


@bp.post("/<uuid:user_id>/active")
@login_required
def set_active(user_id):
    """Deactivate (they are signed out within a second) or reactivate a user."""
    active = request.form.get("active") == "1"
    try:
        user_api().patch(f"/users/{user_id}", {"active": active}, version=request.form.get("version"))
    except ApiError as exc:
        if exc.status not in WRITE_ERRORS:
            raise
        flash(exc.detail or _("The user was not changed."), "problem")
        return redirect(url_for("users.index"), code=303)
    directory().forget_users()
    name = request.form.get("name", "")
    flash(_("%(name)s is active again.", name=name) if active else
          _("%(name)s is deactivated and can no longer sign in.", name=name), "ok")
    return redirect(url_for("users.index"), code=303)
