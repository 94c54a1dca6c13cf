"""Activities' process factories: the web app and the worker."""
from __future__ import annotations

from shared import config
from shared.auth import TokenVerifier, UserDirectory
from shared.db import Database
from shared.web import create_base_app
from shared.worker import Worker

from services.activities import NAME, PUBLIC_ROUTES, api, handlers, jobs
from services.activities.deps import ActivitiesDeps
from services.activities.links import Links
from services.activities.models import TABLES, Base


def open_db(settings: config.Settings) -> Database:
    return Database(settings.database_url, NAME, Base.metadata, TABLES)


def create_app(settings: config.Settings | None = None, *, verifier: TokenVerifier | None = None):
    settings = settings or config.load(NAME)
    db = open_db(settings)
    dependencies = ActivitiesDeps(
        settings=settings, db=db, directory=UserDirectory(db, settings.gateway_url),
        # Links to other services' records: a miss in the replica asks the owner, briefly.
        links=Links(timeout=min(2.0, settings.http_timeout)),
        # Where calendar apps reach the feed: the public address of the gateway.
        public_url=settings.public_url or settings.gateway_url)
    app, rest = create_base_app(settings, db, title="Cadena activities", verifier=verifier,
                                public_paths=PUBLIC_ROUTES, dependencies=dependencies,
                                description="Calls, meetings, visits, e-mails and tasks; agenda, reminders, "
                                            "calendar feeds.")
    for blp in api.BLUEPRINTS:
        rest.register_blueprint(blp)
    return app


def create_worker(settings: config.Settings | None = None) -> Worker:
    settings = settings or config.load(NAME)
    db = open_db(settings)
    return Worker(settings, db, handlers.HANDLERS, jobs.jobs(db, settings))
