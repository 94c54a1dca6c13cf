"""Signing in and out."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.api import ApiError, Unavailable
from console.auth import clear_session, session_tokens, current_user, store_tokens

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never send a user elsewhere after login."""
    root = url_for("today.index")
    if target and target.startswith(root) and not target.startswith("//"):
        return target
    return root


def _reason_text(reason: str | None) -> str | None:
    return {"ended": _("Your session has ended. Please sign in again."),
            "out": _("You have signed out.")}.get(reason or "")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user():
            return redirect(_safe_next(request.args.get("next")))
        return render_template("login.html", email="", notice=_reason_text(request.args.get("reason")))
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    api = current_app.extensions["console.api"]
    try:
        answer = api.call("POST", "/auth/token", body={"email": email, "password": password},
                          headers={"X-Forwarded-For": request.remote_addr or ""}).data
    except Unavailable:
        raise
    except ApiError as exc:
        message = _("Too many attempts. Wait a few minutes and try again.") if exc.status == 429 \
            else _("The e-mail or the password is not right.")
        return render_template("login.html", email=email, error=message), 401 if exc.status != 429 else 429
    clear_session()
    store_tokens(answer)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """GET shows a confirmation (a link must not sign anyone out); POST signs out."""
    if request.method == "GET":
        if not current_user():
            return redirect(url_for("auth.login"))
        return render_template("logout.html")
    tokens = session_tokens()
    if tokens:
        try:
            current_app.extensions["console.api"].call("POST", "/auth/logout", token=tokens["access"], body={})
        except ApiError:
            pass  # already revoked, or not supported: the session ends here either way
    clear_session()
    return redirect(url_for("auth.login", reason="out"))
