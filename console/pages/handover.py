"""The handover wizard: pick who leaves and who takes over, start it, and
watch each service move the leaver's open work until all are done. The
leaver is deactivated when it starts."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError
from console.auth import login_required, user_api
from console.directory import all_pages
from console.forms import Field, FormState, failed
from console.labels import SERVICES
from console.pages.users import hand_over_allowed, require
from console.views import directory, page_or_region

bp = Blueprint("handover", __name__, url_prefix="/admin/handovers")

FIELDS = [Field("from_user_id"), Field("to_user_id")]
POLL_SECONDS = 1


def _choices(users: list[dict]) -> list[tuple[str, str]]:
    return [(u["id"], f"{u['name']} · {u.get('team') or '—'}") for u in sorted(users, key=lambda u: u["name"])]


def _form_page(form: FormState, status: int = 200):
    """Read fresh, not from the names kept a minute: someone added a moment
    ago may be the one leaving."""
    active = all_pages(user_api(), "/users", active="true")
    allowed = hand_over_allowed()
    return render_template(
        "users/handover_new.html", form=form, leavers=_choices([u for u in active if allowed(u)]),
        successors=_choices([u for u in active if u.get("role") in ("rep", "manager", "support", "marketing")])), \
        status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def start():
    require("hand_over")
    if request.method == "GET":
        return _form_page(FormState(values={"from_user_id": request.args.get("from", "")}))
    leaver, successor = request.form.get("from_user_id", ""), request.form.get("to_user_id", "")
    try:
        if not leaver:
            raise ApiError(422, {"errors": {"from_user_id": [_("Choose who is leaving.")]}})
        reply = user_api().post(f"/users/{leaver}/handover", {"to_user_id": successor or None})
    except ApiError as exc:
        if exc.status not in (400, 403, 404, 409, 422):
            raise
        return _form_page(failed(request.form, exc, FIELDS), exc.status)
    directory().forget_users()  # the leaver is inactive now
    return redirect(url_for("handover.progress", handover_id=reply.data["handover_id"]), code=303)


@bp.get("/<uuid:handover_id>")
@login_required
def progress(handover_id):
    """The page, or (htmx, every second while pending) only its progress."""
    handover = user_api().get(f"/handovers/{handover_id}")
    api = user_api()
    steps = [(name, SERVICES.get(name, name), state) for name, state in sorted(handover["services"].items())]
    return page_or_region("users/handover.html", "users/_progress.html", h=handover, steps=steps,
                          done=sum(1 for _n, _l, s in steps if s["status"] == "done"), poll=POLL_SECONDS,
                          leaver=directory().user_name(api, handover["from_user_id"]),
                          successor=directory().user_name(api, handover["to_user_id"]))
