"""Distributed tracing (CONTRACTS §10): one trace spans a request, the
outbox write it causes, the relay's publish and every consumer's handling.

Two modes, chosen once per process:

- **propagation only** (the default, ``OTEL_EXPORTER_OTLP_ENDPOINT`` unset):
  no SDK, no exporter, no spans recorded. Every request still has a W3C
  trace context — the caller's ``traceparent`` or a new one — which the
  response echoes, calls to other services forward, events carry as their
  CloudEvents ``traceparent`` extension and consumers restore while they
  handle them. It costs a header parse and a context switch per request.
- **recording** (``OTEL_EXPORTER_OTLP_ENDPOINT`` set, or a test's
  :func:`start`): the OpenTelemetry SDK, Flask and urllib3 instrumentation
  (server and client spans) and Cadena's own spans: ``<type> create`` around
  the outbox write, ``<type> publish`` per event the relay sends,
  ``<type> process`` per event a consumer handles (a child of the event's
  ``traceparent``). Spans go to OTLP over HTTP/protobuf. The SDK, the
  instrumentation and the exporter are imported only in this mode.

The tracer provider is Cadena's own, not OpenTelemetry's global one, so a
test can start and stop recording.
"""
from __future__ import annotations

import random
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
EXCLUDED = "healthz,readyz,metrics"  # probes and scrapes make no spans

_propagator = TraceContextTextMapPropagator()
_provider = None  # an SDK TracerProvider while spans are recorded
_tracer: Any = None
_ids = random.Random()  # trace ids need to be unique, not secret (the SDK's own generator does the same)


def recording() -> bool:
    return _provider is not None


def configure(settings) -> None:
    """At a process's start: record and export over OTLP when the endpoint is set."""
    if settings.otlp_endpoint and _provider is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        exporter = OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint))
        start(BatchSpanProcessor(exporter), service=f"cadena-{settings.component}")


def traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; traces go to /v1/traces."""
    return endpoint.rstrip("/") + "/v1/traces"


def start(processor, service: str = "cadena") -> None:
    """Record spans into ``processor`` (an OTLP batch processor, or a test's
    in-memory one); HTTP clients (urllib3) get client spans and send traceparent."""
    global _provider, _tracer
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(processor)
    URLLib3Instrumentor().instrument(tracer_provider=provider)
    _provider, _tracer = provider, provider.get_tracer("cadena")


def stop() -> None:
    """Stop recording (flushes what the processor holds)."""
    global _provider, _tracer
    if _provider is None:
        return
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    URLLib3Instrumentor().uninstrument()
    provider, _provider, _tracer = _provider, None, None
    provider.shutdown()


# -- the trace context ------------------------------------------------------------------

def extract(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    """The context a ``traceparent`` names, or None when there is none (or it is malformed)."""
    if not carrier or not carrier.get(TRACEPARENT):
        return None
    ctx = _propagator.extract(carrier)
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def _new_context() -> otel_context.Context:
    """A new trace for a request that brought none (propagation only: not sampled)."""
    span = SpanContext(trace_id=_ids.getrandbits(128) or 1, span_id=_ids.getrandbits(64) or 1, is_remote=False,
                       trace_flags=TraceFlags(TraceFlags.DEFAULT))
    return trace.set_span_in_context(NonRecordingSpan(span))


def current_traceparent() -> str | None:
    """The ``traceparent`` of the current span, or None outside a trace."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def inject(headers: dict) -> dict:
    """Add the current ``traceparent`` to outgoing headers (urllib3's
    instrumentation replaces it with its client span's when recording)."""
    value = current_traceparent()
    if value:
        headers[TRACEPARENT] = value
    return headers


@contextmanager
def restored(traceparent: str | None) -> Iterator[None]:
    """Run a block inside the trace an event came from (propagation only)."""
    ctx = extract({TRACEPARENT: traceparent}) if traceparent else None
    if ctx is None:
        yield
        return
    token = otel_context.attach(ctx)
    try:
        yield
    finally:
        otel_context.detach(token)


# -- spans ------------------------------------------------------------------------------

_KINDS = {"internal": SpanKind.INTERNAL, "producer": SpanKind.PRODUCER, "consumer": SpanKind.CONSUMER}


def span(name: str, *, kind: str = "internal", parent: str | None = None,
         attributes: dict | None = None):
    """A span around a block when recording (a child of ``parent``, a
    traceparent, when given; else of the current span); nothing otherwise."""
    if _tracer is None:
        return nullcontext()
    ctx = extract({TRACEPARENT: parent}) if parent else None
    return _tracer.start_as_current_span(name, context=ctx, kind=_KINDS[kind], attributes=attributes)


def start_span(name: str, *, kind: str = "internal", parent: str | None = None, attributes: dict | None = None):
    """A span that is ended by the caller (``.end()``), or None when not recording."""
    if _tracer is None:
        return None
    ctx = extract({TRACEPARENT: parent}) if parent else None
    return _tracer.start_span(name, context=ctx, kind=_KINDS[kind], attributes=attributes)


def messaging(routing_key: str, event_id: str, operation: str, **extra) -> dict:
    """Semantic-convention attributes of a span about one event."""
    return {"messaging.system": "rabbitmq", "messaging.destination.name": "cadena.events",
            "messaging.rabbitmq.destination.routing_key": routing_key, "messaging.message.id": event_id,
            "messaging.operation.type": operation, **extra}


@contextmanager
def consuming(event: dict, consumer: str) -> Iterator[None]:
    """Handle an event inside its trace: a ``process`` span, child of the
    event's traceparent, when recording; the restored context otherwise, so
    the events a handler publishes carry the same trace."""
    parent = event.get(TRACEPARENT)
    if _tracer is None:
        with restored(parent):
            yield
        return
    attributes = messaging(event["type"], event["id"], "process", **{"messaging.consumer.group.name": consumer})
    with span(f"{event['type']} process", kind="consumer", parent=parent, attributes=attributes):
        yield


# -- HTTP -------------------------------------------------------------------------------

def install(app) -> None:
    """Trace context in and out of every request of a Flask app: the
    caller's ``traceparent`` (or a new trace) is the request's context, and
    the response says which (``traceparent`` header). When recording, the
    Flask instrumentation makes the server span."""
    from flask import g, request

    if _provider is not None:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(app, tracer_provider=_provider, excluded_urls=EXCLUDED)

    @app.before_request
    def _trace_in():
        if getattr(app, "_is_instrumented_by_opentelemetry", False):
            return  # the instrumentation made the request's span
        g.trace_token = otel_context.attach(extract(request.headers) or _new_context())

    @app.after_request
    def _trace_out(response):
        value = current_traceparent()
        if value:
            response.headers[TRACEPARENT] = value
        return response

    @app.teardown_request
    def _trace_done(_exc):
        token = g.pop("trace_token", None)
        if token is not None:
            otel_context.detach(token)
