"""Opportunities' process factories: the web app and the worker."""
from __future__ import annotations

from shared import config
from shared.auth import TokenVerifier, UserDirectory
from shared.db import Database
from shared.web import create_base_app
from shared.worker import Job, Worker

from services.opportunities import NAME, api, handlers
from services.opportunities.models import TABLES, Base
from services.opportunities.replica import AccountsClient
from services.opportunities.deps import OpportunitiesDeps
from services.opportunities.service import Deps


def open_db(settings: config.Settings) -> Database:
    return Database(settings.database_url, NAME, Base.metadata, TABLES)


def create_app(settings: config.Settings | None = None, *, verifier: TokenVerifier | None = None):
    settings = settings or config.load(NAME)
    db = open_db(settings)
    directory = UserDirectory(db, settings.gateway_url)
    # A replica miss reads the account once from the accounts service: a short timeout, never a hang.
    accounts = AccountsClient(config.service_url("accounts"), timeout=min(settings.http_timeout, 2.0))
    dependencies = OpportunitiesDeps(settings=settings, db=db, directory=directory,
                                     use_cases=Deps(directory=directory, accounts=accounts))
    app, rest = create_base_app(settings, db, title="Cadena opportunities", verifier=verifier,
                                description="Deals, the pipeline, quotas and the forecast.", dependencies=dependencies)
    for blp in api.BLUEPRINTS:
        rest.register_blueprint(blp)
    return app


def create_worker(settings: config.Settings | None = None) -> Worker:
    settings = settings or config.load(NAME)
    db = open_db(settings)
    return Worker(settings, db, handlers.HANDLERS, [Job("imports", 1.0, lambda: run_imports(db, settings))])


def run_imports(db, settings: config.Settings) -> int:
    from shared.imports import run_pending

    from services.opportunities.imports import REGISTRY

    return run_pending(db, REGISTRY.tables, REGISTRY.kinds, settings.base_currency)
