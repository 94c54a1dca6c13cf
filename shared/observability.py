"""JSON logs with a request id, Prometheus metrics, health endpoints."""
from __future__ import annotations

import contextvars
import logging
import sys
import time
import uuid

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

HTTP_REQUESTS = Counter(
    "cadena_http_requests_total", "HTTP requests served", ["component", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "cadena_http_request_duration_seconds",
    "HTTP request latency",
    ["component", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter("cadena_events_published_total", "Events confirmed by the broker", ["component"])
EVENTS_CONSUMED = Counter(
    "cadena_events_consumed_total", "Events consumed", ["component", "queue", "outcome"]
)
HANDLER_ERRORS = Counter(
    "cadena_handler_errors_total", "Event handler failures", ["component", "routing_key", "kind"]
)


def current_request_id() -> str | None:
    return _request_id.get()


def current_actor_id() -> str | None:
    """The id of the user or API client whose request is being served; None
    outside a request (jobs, event handlers) or before authentication."""
    from flask import g, has_request_context

    if not has_request_context():
        return None
    principal = g.get("principal")
    return principal.id if principal is not None else None


def bind_request_id(value: str | None) -> contextvars.Token:
    structlog.contextvars.bind_contextvars(request_id=value)
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)
    structlog.contextvars.unbind_contextvars("request_id")


def configure_logging(component: str) -> None:
    from shared.config import log_level

    level = getattr(logging, log_level(), logging.INFO)
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    for noisy in ("urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pika logs every failed connection attempt as an error with a stack;
    # the relay and consumers log one line of their own and retry.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(component=component)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)


def new_request_id() -> str:
    return str(uuid.uuid4())


class OutboxCollector:
    """Outbox backlog and the age of its oldest unpublished event, read at scrape time."""

    def __init__(self, db):
        self.db = db

    def collect(self):
        from sqlalchemy import func, select

        from shared.db import utcnow

        outbox = self.db.tables.outbox
        backlog = GaugeMetricFamily("cadena_outbox_backlog", "Events committed but not yet published", labels=["component"])
        age = GaugeMetricFamily(
            "cadena_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished event", labels=["component"]
        )
        try:
            with self.db.engine.connect() as conn:
                count, oldest = conn.execute(
                    select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
                ).one()
        except Exception:  # a scrape must not fail because the DB is down
            return []
        backlog.add_metric([self.db.component], count)
        if oldest is not None:
            if oldest.tzinfo is None:
                from datetime import timezone

                oldest = oldest.replace(tzinfo=timezone.utc)
            age.add_metric([self.db.component], (utcnow() - oldest).total_seconds())
        else:
            age.add_metric([self.db.component], 0.0)
        return [backlog, age]


def metrics_payload(extra_collectors=()) -> tuple[bytes, str]:
    """The process's metrics (all gunicorn workers' under multiprocess mode)
    followed by this app's own collectors. Those go in a registry of this
    scrape, never the global one: it would keep the first app's collector
    for good (and raise on the next app's same metric names)."""
    from shared.config import multiprocess_metrics_dir

    if multiprocess_metrics_dir():
        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        from prometheus_client import REGISTRY

        base = REGISTRY
    own = CollectorRegistry(auto_describe=False)
    for collector in extra_collectors:
        own.register(collector)
    return generate_latest(base) + generate_latest(own), CONTENT_TYPE_LATEST


def instrument_flask(app, component: str, log) -> None:
    """Request id in, request id out, one JSON access log line and metrics per request."""
    from flask import g, request

    @app.before_request
    def _start():
        rid = request.headers.get("X-Request-ID") or new_request_id()
        g.request_id = rid
        g.request_token = bind_request_id(rid)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        rid = getattr(g, "request_id", None)
        if rid:
            response.headers["X-Request-ID"] = rid
        started = getattr(g, "request_started", None)
        if started is not None and request.path not in ("/metrics", "/healthz"):
            route = request.url_rule.rule if request.url_rule else "unmatched"
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(component, request.method, route, str(response.status_code)).inc()
            HTTP_LATENCY.labels(component, request.method, route).observe(elapsed)
            log.info(
                "http_request",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round(elapsed * 1000, 2),
            )
        return response

    @app.teardown_request
    def _reset(_exc):
        token = getattr(g, "request_token", None)
        if token is not None:
            reset_request_id(token)
