"""The console's app factory, and how it is mounted under /app/."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable
from urllib.parse import urlencode

from flask import Flask, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from console import i18n, labels, settings as console_settings
from console.api import ApiError, Moved, Unavailable, build_api
from console.auth import LoggedOut, RefreshCoordinator, clear_session, current_user
from console.directory import Directory
from console.pages import BLUEPRINTS, NAV
from console.pages.exports import export_url
from console.permissions import can

PREFIX = "/app"

# No inline script or style anywhere: everything comes from our own static files.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def create_app(settings: console_settings.ConsoleSettings | None = None, *, api=None,
               gateway_wsgi: Callable | None = None) -> Flask:
    settings = settings or console_settings.load(in_process=gateway_wsgi is not None)
    app = Flask(__name__)
    app.secret_key = settings.secret
    app.config.update(
        SESSION_COOKIE_NAME="cadena_console", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies, SESSION_COOKIE_PATH=PREFIX + "/",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session: a form left open over lunch still posts
        WTF_CSRF_SSL_STRICT=False,  # pages send no Referer (Referrer-Policy: no-referrer); the token suffices
        CONSOLE_TIMEZONE=settings.timezone,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.extensions["console.settings"] = settings
    app.extensions["console.api"] = api or build_api(settings.api_url, settings.http_timeout, gateway_wsgi)
    app.extensions["console.refresh"] = RefreshCoordinator()
    app.extensions["console.directory"] = Directory()
    CSRFProtect(app)
    i18n.install(app)
    _install_observability(app, standalone=gateway_wsgi is None)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    _install_context(app)
    _install_errors(app)
    app.after_request(_security_headers)
    return app


def _install_observability(app: Flask, standalone: bool) -> None:
    """Request ids, one JSON log line and metrics per request. Logging is set
    up only when the console runs alone: inside the gateway it is the gateway's."""
    from shared.observability import configure_logging, get_logger, instrument_flask

    if standalone:
        configure_logging("console")
    instrument_flask(app, "console", get_logger("cadena.console").bind(component="console"))


def _install_context(app: Flask) -> None:
    @app.context_processor
    def _globals():
        return {"user": current_user(), "nav": NAV, "L": labels.ALL, "label": labels.label,
                "section": _section, "url_with": _url_with, "can": can,
                "api_docs_url": (app.extensions["console.settings"].api_url or "") + "/api/docs",
                "export_url": export_url}

    @app.before_request
    def _keep_session():
        session.permanent = True


def _section() -> str:
    """The first path segment: which navigation item is the current one."""
    return request.path.strip("/").split("/", 1)[0]


def _url_with(**changes) -> str:
    """This page's address with some query parameters changed (cursor dropped)."""
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    args.update(changes)
    return request.script_root + request.path + "?" + urlencode(args)


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CSP
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["Vary"] = "Cookie, HX-Request"
    return response


def _to_login(message: str):
    target = url_for("auth.login", reason=message)
    if request.headers.get("HX-Request") == "true":
        return "", 200, {"HX-Redirect": target}
    return redirect(target)


def _install_errors(app: Flask) -> None:
    @app.errorhandler(LoggedOut)
    def _logged_out(_exc):
        clear_session()
        return _to_login("ended")

    @app.errorhandler(CSRFError)
    def _csrf(_exc):
        return render_template("error.html", title=_("This form has expired"),
                               detail=_("Reload the page and send it again.")), 400

    @app.errorhandler(Unavailable)
    def _unavailable(exc):
        return render_template("error.html", title=_("Cadena is not answering right now"),
                               detail=_("Try again in a moment.")), 503

    @app.errorhandler(Moved)
    def _moved(exc: Moved):
        """A merged record's page is its survivor's page."""
        if exc.merged_id and exc.survivor_id and exc.merged_id in request.path:
            target = request.script_root + request.path.replace(exc.merged_id, exc.survivor_id)
            query = request.query_string.decode()
            return redirect(target + (f"?{query}" if query else ""), code=303 if request.method == "POST" else 302)
        return render_template("error.html", title=_("This record was merged into another"),
                               detail=exc.detail), 409

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        titles = {403: _("You are not allowed to see this"), 404: _("Not found")}
        return render_template("error.html", title=titles.get(exc.status, _("Something went wrong")),
                               detail=exc.detail), exc.status if exc.status in (403, 404) else 400

    @app.errorhandler(404)
    def _not_found(_exc):
        return render_template("error.html", title=_("Not found"),
                               detail=_("There is no page at this address.")), 404


def mount(gateway_app: Flask) -> None:
    """Serve the console at /app/ inside the gateway's process, and send
    visitors of the bare address there."""
    api_wsgi = gateway_app.wsgi_app
    console = create_app(gateway_wsgi=api_wsgi)
    gateway_app.wsgi_app = DispatcherMiddleware(api_wsgi, {PREFIX: console})
    gateway_app.add_url_rule("/", "console_home", lambda: redirect(PREFIX + "/", code=302))
