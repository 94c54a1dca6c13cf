"""The Flask app every Cadena process starts from: problem+json errors,
request ids and JSON logs, metrics, health, auth and OpenAPI."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import flask_smorest
import marshmallow
from flask import Flask, Response, g, jsonify
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_smorest import Api
from webargs.flaskparser import FlaskParser

from shared import bus, idempotency, tracing
from shared.auth import TokenVerifier, UserDirectory, install_auth
from shared.db import Database
from shared.guard import BodyLimit, add_security_headers
from shared.revocation import ReplicaRevocation, RevocationCheck
from shared.config import Settings
from shared.http import install_problem_handlers, problem_response
from shared.parts import Parts, shared_session
from shared.observability import OutboxCollector, configure_logging, get_logger, instrument_flask, metrics_payload


class _SchemaOnceParser(FlaskParser):
    """webargs' Flask parser, but a schema given as a class is made once, not
    once per request (an instance is reusable: loading keeps no state)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, marshmallow.Schema] = {}

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, marshmallow.Schema):
            schema = self._schemas.get(argmap)
            return schema if schema is not None else self._schemas.setdefault(argmap, argmap())
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    """The API's blueprint: flask-smorest's, with the parser above."""

    ARGUMENTS_PARSER = _SchemaOnceParser()


@dataclass(kw_only=True)
class Dependencies:
    """What a component's requests need, built once by its app factory (one
    typed object, reached with ``deps()``). Components extend it with their own."""

    settings: Settings
    db: Database
    directory: UserDirectory | None = None
    revocation: RevocationCheck | None = None  # a service's: ReplicaRevocation; the gateway's: its own


class ReadinessProbe:
    """Database and broker reachability; the broker answer is cached for a few
    seconds because opening an AMQP connection per probe is wasteful."""

    def __init__(self, settings: Settings, db, ttl: float = 5.0):
        self.settings = settings
        self.db = db
        self.ttl = ttl
        self._broker_checked = 0.0
        self._broker_error: str | None = None
        self._lock = threading.Lock()

    def problems(self) -> list[str]:
        down = []
        try:
            self.db.ping()
        except Exception as exc:
            down.append(f"database ({type(exc).__name__})")
        with self._lock:
            if time.monotonic() - self._broker_checked > self.ttl:
                try:
                    bus.check_broker(self.settings.amqp_url, timeout=2)
                    self._broker_error = None
                except bus.BrokerUnavailable as exc:
                    self._broker_error = str(exc)
                self._broker_checked = time.monotonic()
            if self._broker_error:
                down.append(f"broker ({self._broker_error})")
        return down


def schema_name(schema) -> str:
    """Component names in the OpenAPI document: partial (PATCH) variants get their own."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and schema.partial:
        name += "Patch"
    return name


def create_base_app(settings: Settings, db, *, title: str, description: str = "",
                    verifier: TokenVerifier | None = None, extra_ready: Callable[[], Iterable[str]] | None = None,
                    public_paths: tuple[str, ...] = (), openapi_path: str | None = "openapi.json",
                    dependencies: Dependencies | None = None, parts: bool = True) -> tuple[Flask, Api]:
    configure_logging(settings.component)
    log = get_logger(f"cadena.{settings.component}")
    app = Flask(settings.component)
    app.config.update(
        API_TITLE=title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/" if openapi_path else None,
        OPENAPI_JSON_PATH=openapi_path or "openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": description},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "security": [{"bearer": []}],
        },
        JSON_SORT_KEYS=False,
        # BodyLimit answers oversized bodies first; this is the backstop.
        MAX_CONTENT_LENGTH=max(settings.max_body_bytes, settings.import_max_body_bytes),
    )
    app.json.sort_keys = False
    dependencies = dependencies or Dependencies(settings=settings, db=db)
    if dependencies.revocation is None:  # a service checks its user replica; the gateway brings its own
        dependencies.revocation = ReplicaRevocation(db, settings.revocation_cache_seconds)
    app.extensions["cadena"] = dependencies
    tracing.configure(settings)
    tracing.install(app)  # first: the request's trace context is there for every other step
    api = Api(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})
    install_problem_handlers(app, log)  # after Api: ours replace its error format
    instrument_flask(app, settings.component, log)
    verifier = verifier or TokenVerifier(settings.jwks_url)
    if verifier.remote_keys is not None:
        verifier.remote_keys.start()  # ready only once the gateway's keys are here
    install_auth(app, verifier, public_paths=public_paths)
    idempotency.install(app, db, max(0.5, settings.http_timeout - 1), log)
    app.after_request(add_security_headers)
    limited = BodyLimit(app.wsgi_app, settings.max_body_bytes,
                        larger={"/api/v1/imports": settings.import_max_body_bytes})
    app.wsgi_app = Parts(limited, db) if parts else limited  # GET /internal/v1/parts: several reads in one call
    _install_probes(app, settings, db, verifier, extra_ready)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("session", None)
        if session is not None:
            session.close()

    return app, api


def _install_probes(app: Flask, settings: Settings, db, verifier: TokenVerifier,
                    extra_ready: Callable[[], Iterable[str]] | None) -> None:
    """/healthz (alive), /readyz (its database, broker and the gateway's keys) and /metrics."""
    probe = ReadinessProbe(settings, db)
    collector = OutboxCollector(db)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", component=settings.component)

    @app.get("/readyz")
    def readyz():
        down = probe.problems() + list(extra_ready() if extra_ready else [])
        if verifier.remote_keys is not None and not verifier.remote_keys.ready:
            down.append("signing keys (the gateway has not answered yet)")
        if down:
            return problem_response(503, "Not ready", "Unreachable: " + "; ".join(down) + ".", slug="not-ready",
                                    extra={"unavailable": down})
        return jsonify(status="ready", component=settings.component)

    @app.get("/metrics")
    def metrics():
        payload, content_type = metrics_payload([collector])
        return Response(payload, mimetype=content_type.split(";")[0], headers={"Content-Type": content_type})


def deps() -> Dependencies:
    """The running app's dependencies (narrow the type in the component)."""
    from flask import current_app

    return current_app.extensions["cadena"]


def current_db():
    return deps().db


def current_settings() -> Settings:
    return deps().settings


def read_session():
    """The request's read-only session (closed at teardown); in a request that
    carries an Idempotency-Key, its transaction, so it reads its own writes."""
    scoped = g.get("request_uow")
    if scoped is not None:
        return scoped.session
    if "session" not in g:
        shared = shared_session()  # a part of GET /internal/v1/parts: the call's one session
        if shared is not None:
            return shared
        g.session = current_db().reads()
    return g.session


def created(body: dict, location: str, version: int | None = None):
    """201 with the resource, its Location and ETag."""
    from shared.http import etag

    headers = {"Location": location}
    if version is not None:
        headers["ETag"] = etag(version)
    return body, 201, headers


def with_version(body: dict, version: int):
    from shared.http import etag

    return body, 200, {"ETag": etag(version)}
