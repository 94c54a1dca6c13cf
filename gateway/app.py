"""The gateway's process factories."""
from __future__ import annotations

from shared import config
from shared.auth import TokenVerifier
from shared.db import Database
from shared.inbox import in_runs
from shared.observability import get_logger
from shared.web import create_base_app
from shared.worker import Job, Worker

from concurrent.futures import ThreadPoolExecutor

from gateway import (NAME, api, docs_page, handover, history, history_api, identity, imports, routing, search,
                     timeline, webhook_api, webhooks)
from gateway.aggregates import Customer360
from gateway.clients import build_clients
from gateway.delivery_worker import DeliveryWorker
from gateway.deps import GatewayDeps
from gateway.ssrf import UrlGuard
from gateway.models import TABLES, Base
from gateway.tokens import GatewayRevocation, TokenIssuer

PUBLIC = (r"/api/v1/auth/token", r"/api/v1/auth/refresh", r"/api/v1/auth/jwks\.json", r"/api/v1/openapi\.json",
          r"/api/v1/asyncapi\.json")


def open_db(settings: config.Settings) -> Database:
    return Database(settings.database_url, NAME, Base.metadata, TABLES)


def create_app(settings: config.Settings | None = None):
    settings = settings or config.load(NAME)
    db = open_db(settings)
    keys = identity.KeyStore(db, settings.jwt_private_key_file)
    clients = build_clients(settings.http_timeout)
    dependencies = GatewayDeps(
        settings=settings, db=db, keys=keys, routes=routing.route_table(), clients=clients,
        revocation=GatewayRevocation(db, settings.revocation_cache_seconds),
        issuer=TokenIssuer(keys, settings.access_token_ttl, settings.refresh_token_days),
        customer360=Customer360(clients, settings.aggregate_deadline,
                                ThreadPoolExecutor(max_workers=16, thread_name_prefix="360")),
        url_guard=UrlGuard.from_settings(settings))
    app, rest = create_base_app(
        settings, db, title="Cadena API", openapi_path=None,
        description="The public API of Cadena, a CRM for companies that sell to companies.",
        verifier=TokenVerifier(key_resolver=keys.public_key_for),
        public_paths=PUBLIC + routing.public_routes(),
        dependencies=dependencies, parts=False,  # the gateway asks the services' parts; it has none to offer
    )
    dependencies.rest = rest
    if settings.proxy_hops:
        # Behind N trusted proxies the client's address (login throttling) is in X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)
    for blp in (*api.BLUEPRINTS, history_api.bp, webhook_api.bp):
        rest.register_blueprint(blp)
    app.register_blueprint(imports.bp)  # before the proxy: its paths are more specific anyway
    app.register_blueprint(routing.bp)
    app.register_blueprint(docs_page.bp)
    try:
        identity.ensure_admin(db, settings.admin_password)
    except Exception as exc:  # not migrated yet: `cadena migrate` creates it too
        get_logger("cadena.gateway").warning("admin_bootstrap_skipped", error=type(exc).__name__)
    from console.app import mount  # the web console at /app/, in this process to keep `cadena up` small

    mount(app)
    return app


def on_events(events: list[dict], uow) -> None:
    """A run of events: the event history (and with it the timeline) and the search index, in one transaction."""
    history.record_many(events, uow)
    search.record_many(events, uow)


@in_runs(on_events)
def on_any_event(event: dict, uow) -> None:
    on_events([event], uow)


def on_account_merged(event: dict, uow) -> None:
    """accounts.account.merged: the timeline remembers the survivor; the index hides the merged."""
    timeline.on_account_merged(event, uow)
    search.record(event, uow)


def on_handover_completed(event: dict, uow) -> None:
    history.record(event, uow)
    handover.on_handover_completed(event, uow)


# Order matters: the first matching pattern handles an event. Every event is
# kept in the event history, whatever else it causes.
HANDLERS = {
    "*.handover.completed": on_handover_completed,
    "accounts.account.merged": on_account_merged,
    "#": on_any_event,
}


def create_worker(settings: config.Settings | None = None) -> Worker:
    settings = settings or config.load(NAME)
    db = open_db(settings)
    jobs = [Job("webhook-log-retention", settings.retention_interval,
                lambda: webhooks.purge_log(db, settings.webhook_log_retention_days))]
    worker = Worker(settings, db, HANDLERS, jobs)
    if settings.webhook_inline:  # locally: delivery threads here, not a process more (docs/webhooks.md)
        worker.extra = DeliveryWorker(settings, db, worker.stop).targets()
    return worker
