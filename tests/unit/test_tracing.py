"""Trace context without a collector (propagation only, the default): W3C
traceparent in and out of requests, on to the services the gateway calls,
into the events a request causes and on through their handlers; and the
spans when recording into an in-memory exporter (SQLite, no broker)."""
from __future__ import annotations

import re
import threading
import uuid

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared import events, inbox, tracing
from tests.support.auth import headers

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")


def trace_id(value: str | None) -> str:
    match = TRACEPARENT.match(value or "")
    assert match, value
    return match.group(1)


def outbox_events(built) -> list[dict]:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        return [events.decode(body) for body in session.scalars(select(outbox.c.body).order_by(outbox.c.id))]


def test_a_request_continues_the_callers_trace_and_its_event_carries_it(accounts):
    reply = accounts.client.post("/api/v1/accounts", json={"name": "Aceros"},
                                 headers={**headers(), "traceparent": INCOMING})
    assert reply.status_code == 201
    assert trace_id(reply.headers["traceparent"]) == TRACE_ID
    (event,) = outbox_events(accounts)
    assert trace_id(event["traceparent"]) == TRACE_ID


def test_a_request_without_a_trace_starts_one(accounts):
    reply = accounts.client.post("/api/v1/accounts", json={"name": "Aceros"}, headers=headers())
    other = accounts.client.get("/api/v1/accounts", headers=headers())
    started = trace_id(reply.headers["traceparent"])
    assert started != trace_id(other.headers["traceparent"])
    assert trace_id(outbox_events(accounts)[0]["traceparent"]) == started


@pytest.mark.parametrize("bad", ["garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "ff-x-y-z"])
def test_a_malformed_traceparent_is_replaced_not_refused(accounts, bad):
    reply = accounts.client.get("/api/v1/accounts", headers={**headers(), "traceparent": bad})
    assert reply.status_code == 200
    assert trace_id(reply.headers["traceparent"]) != "0" * 32


def test_errors_carry_the_trace_too(accounts):
    reply = accounts.client.get("/api/v1/accounts", headers={"traceparent": INCOMING})
    assert reply.status_code == 401 and trace_id(reply.headers["traceparent"]) == TRACE_ID


def test_a_handler_runs_in_the_trace_of_its_event_so_what_it_publishes_carries_it(accounts):
    subject = str(uuid.uuid4())

    def react(event, uow):
        uow.publish("accounts.account.deleted", subject, {"id": subject})

    body = events.encode(events.new_event(source="t", type="x.thing.happened", subject="s", data={},
                                          traceparent=INCOMING))
    assert inbox.handle(accounts.db, "q", {"x.thing.happened": react}, "x.thing.happened", body) == inbox.ACK
    (published,) = outbox_events(accounts)
    assert published["traceparent"] == INCOMING
    assert tracing.current_traceparent() is None  # the context is gone once the handler returned


def test_an_event_made_outside_any_trace_has_no_traceparent(accounts):
    with accounts.db.uow() as uow:
        uow.publish("accounts.account.deleted", "x", {"id": "x"})
        uow.commit()
    assert "traceparent" not in outbox_events(accounts)[0]


class Echo:
    """A stand-in for a service: answers 200 and keeps the headers it was sent."""

    def __init__(self):
        self.seen: list[dict] = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @Request.application
    def app(self, request):
        self.seen.append(dict(request.headers))
        return Response('{"items": [], "next_cursor": null}', content_type="application/json")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def echo():
    server = Echo()
    yield server
    server.close()


def test_the_gateway_forwards_the_trace_to_the_service_and_answers_with_it(sqlite_build, monkeypatch, echo):
    monkeypatch.setenv("CADENA_ACCOUNTS_URL", echo.url)
    gateway = sqlite_build("gateway")
    token = gateway.client.post("/api/v1/auth/token", json={"email": "admin@cadena.local", "password": "admin"})
    auth = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    reply = gateway.client.get("/api/v1/accounts", headers={**auth, "traceparent": INCOMING})
    assert reply.status_code == 200 and trace_id(reply.headers["traceparent"]) == TRACE_ID
    assert trace_id(echo.seen[-1]["Traceparent"]) == TRACE_ID
    fresh = gateway.client.get("/api/v1/accounts", headers=auth)
    assert trace_id(echo.seen[-1]["Traceparent"]) == trace_id(fresh.headers["traceparent"])


@pytest.fixture
def recorded():
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracing.start(SimpleSpanProcessor(exporter))
    yield exporter
    tracing.stop()


def test_when_recording_the_request_and_the_outbox_write_are_spans_of_the_callers_trace(recorded, sqlite_build):
    accounts = sqlite_build("accounts")  # built while recording: its requests are instrumented
    reply = accounts.client.post("/api/v1/accounts", json={"name": "Aceros"},
                                 headers={**headers(), "traceparent": INCOMING})
    spans = {s.name: s for s in recorded.get_finished_spans()}
    server, create = spans["POST /api/v1/accounts"], spans["accounts.account.created create"]
    assert {format(s.context.trace_id, "032x") for s in spans.values()} == {TRACE_ID}
    assert format(server.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert create.parent.span_id == server.context.span_id
    (event,) = outbox_events(accounts)
    assert create.attributes["messaging.message.id"] == event["id"]
    assert event["traceparent"] == f"00-{TRACE_ID}-{create.context.span_id:016x}-01"
    assert reply.headers["traceparent"] == f"00-{TRACE_ID}-{server.context.span_id:016x}-01"
    accounts.client.get("/healthz")
    assert not [s for s in recorded.get_finished_spans() if "healthz" in s.name]
