"""One trace from a request to every consumer (CONTRACTS §10), recorded into
an in-memory span exporter. Real Postgres and RabbitMQ; the gateway (Flask
test client), the accounts service behind it on a real socket (so the
traceparent crosses HTTP), accounts' relay and two consumers (opportunities
and support workers, each with its own queue) all run in this process and
share one recorder. Every hop still goes over the wire it uses in
production: an HTTP header to the service, the CloudEvent's `traceparent`
through the outbox and the broker to each consumer."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from shared import config, tracing
from shared.auth import TokenVerifier
from shared.migrations import upgrade
from tests.conftest import component_module
from tests.support.wait import until

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


@pytest.fixture
def recorded():
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracing.start(SimpleSpanProcessor(exporter))
    yield exporter
    tracing.stop()


@pytest.fixture
def system(recorded, servers, monkeypatch):
    """gateway → accounts (HTTP) → outbox → relay → broker → opportunities and support."""
    made, urls = [], []

    def build(component: str, **kwargs):
        url = servers.new_database()
        urls.append(url)
        upgrade(component, url)
        settings = config.load(component, database_url=url, amqp_url=servers.amqp_url)
        app = component_module(component).create_app(settings, **kwargs)
        made.append(app.extensions["cadena"].db)
        return settings, app

    _, gateway = build("gateway")
    keys = gateway.extensions["cadena"].keys
    accounts_settings, accounts = build("accounts", verifier=TokenVerifier(key_resolver=keys.public_key_for))
    server = make_server("127.0.0.1", 0, accounts, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The gateway's clients were built with the default URL; point accounts' at this server.
    gateway.extensions["cadena"].clients["accounts"].base_url = f"http://127.0.0.1:{server.server_port}"
    workers = [component_module("accounts").create_worker(accounts_settings)]
    for consumer in ("opportunities", "support"):
        settings, _ = build(consumer)
        workers.append(component_module(consumer).create_worker(settings))
    for worker in workers:
        worker.start()
    yield gateway
    for worker in workers:
        worker.stop.set()
    server.shutdown()
    for db in made + [w.db for w in workers]:
        db.dispose()
    for url in urls:
        servers.drop_database(url)


def hexid(value: int, width: int = 16) -> str:
    return format(value, f"0{width}x")


def test_one_trace_spans_gateway_service_outbox_broker_and_every_consumer(system, recorded):
    token = system.test_client().post("/api/v1/auth/token", json={"email": "admin@cadena.local",
                                                                  "password": "admin"}).get_json()["access_token"]
    reply = system.test_client().post("/api/v1/accounts", json={"name": "Traza S.L."}, headers={
        "Authorization": f"Bearer {token}", "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"})
    assert reply.status_code == 201, reply.get_data(as_text=True)
    assert reply.headers["traceparent"].split("-")[1] == TRACE_ID

    def ours():
        return [s for s in recorded.get_finished_spans() if hexid(s.context.trace_id, 32) == TRACE_ID]

    until(lambda: len([s for s in ours() if s.name == "accounts.account.created process"]) == 2, timeout=30)
    spans = ours()
    by_id = {s.context.span_id: s for s in spans}

    def chain(span) -> list[str]:
        names = [span.name]
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    (create,) = [s for s in spans if s.name == "accounts.account.created create"]
    assert chain(create)[1:] == ["POST /api/v1/accounts", "POST", "POST /api/v1/<path:path>"]
    (gateway,) = [s for s in spans if s.name == "POST /api/v1/<path:path>"]
    assert hexid(gateway.parent.span_id) == CALLER_SPAN  # the caller's span is the gateway span's parent
    (publish,) = [s for s in spans if s.name == "accounts.account.created publish"]
    assert publish.parent.span_id == create.context.span_id
    processed = [s for s in spans if s.name == "accounts.account.created process"]
    assert {s.attributes["messaging.consumer.group.name"] for s in processed} == {
        "cadena.opportunities.events", "cadena.support.events"}
    assert all(s.parent.span_id == create.context.span_id for s in processed)
    assert {s.attributes["messaging.message.id"] for s in [create, publish, *processed]} == {
        create.attributes["messaging.message.id"]}
