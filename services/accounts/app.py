"""Accounts' process factories: the web app and the worker."""
from __future__ import annotations

from shared import config
from shared.auth import TokenVerifier, UserDirectory
from shared.db import Database
from shared.web import Dependencies, create_base_app
from shared.worker import Worker

from services.accounts import NAME, api, handlers, jobs
from services.accounts.models import TABLES, Base


def open_db(settings: config.Settings) -> Database:
    return Database(settings.database_url, NAME, Base.metadata, TABLES)


def create_app(settings: config.Settings | None = None, *, verifier: TokenVerifier | None = None):
    settings = settings or config.load(NAME)
    db = open_db(settings)
    dependencies = Dependencies(settings=settings, db=db, directory=UserDirectory(db, settings.gateway_url))
    app, rest = create_base_app(settings, db, title="Cadena accounts", verifier=verifier,
                                description="Accounts, contacts, org charts and the account view.",
                                dependencies=dependencies)
    for blp in api.BLUEPRINTS:
        rest.register_blueprint(blp)
    return app


def create_worker(settings: config.Settings | None = None) -> Worker:
    settings = settings or config.load(NAME)
    db = open_db(settings)
    return Worker(settings, db, handlers.HANDLERS, jobs.jobs(db, settings))
