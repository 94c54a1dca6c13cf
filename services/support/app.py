"""Support's process factories: the web app and the worker."""
from __future__ import annotations

from shared import config
from shared.auth import TokenVerifier, UserDirectory
from shared.db import Database
from shared.web import create_base_app
from shared.worker import Worker

from services.support import NAME, api, handlers, jobs
from services.support.models import TABLES, Base
from services.support.deps import SupportDeps
from services.support.replica import AccountsLookup


def open_db(settings: config.Settings) -> Database:
    return Database(settings.database_url, NAME, Base.metadata, TABLES)


def accounts_url(settings: config.Settings) -> str:
    return settings.extra.get("accounts_url") or config.service_url("accounts")


def create_app(settings: config.Settings | None = None, *, verifier: TokenVerifier | None = None):
    settings = settings or config.load(NAME)
    db = open_db(settings)
    dependencies = SupportDeps(settings=settings, db=db, directory=UserDirectory(db, settings.gateway_url),
                               accounts=AccountsLookup(accounts_url(settings), timeout=min(1.5, settings.http_timeout)))
    app, rest = create_base_app(settings, db, title="Cadena support", verifier=verifier, dependencies=dependencies,
                                description="Cases from any channel, SLA timers, satisfaction and inbound e-mail.")
    for blp in api.BLUEPRINTS:
        rest.register_blueprint(blp)
    return app


def create_worker(settings: config.Settings | None = None) -> Worker:
    settings = settings or config.load(NAME)
    db = open_db(settings)
    return Worker(settings, db, handlers.HANDLERS, jobs.jobs(db, settings))
