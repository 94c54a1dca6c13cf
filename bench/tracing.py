"""What tracing costs a request (shared/tracing.py): the accounts service in
process (the Flask test client, so only the server's own work is timed)
reading one account and creating one (a write: an outbox row, and when
recording its `create` span). Three builds of the same app, same run, same
database, rounds alternated so drift hits all three:

- **none**: the trace hooks left out (what Cadena cost before tracing);
- **off**: as `cadena up` runs it, OTEL_EXPORTER_OTLP_ENDPOINT unset
  (propagation only: no SDK, no exporter, no spans);
- **on**: recording every span into an in-memory exporter (the SDK, the
  Flask instrumentation and Cadena's spans: all but the network send).

Printed as requests/s (wall clock) and as CPU µs per request (this thread's
CPU time: what tracing adds to, and what a busy machine disturbs least); the
least of the rounds is kept, the usual estimate of a cost under noise."""
from __future__ import annotations

import argparse
import time
import uuid
from unittest import mock

from shared import config, tracing
from shared.db import utcnow
from shared.migrations import upgrade
from tests.support import auth
from tests.support.servers import start as start_servers

MODES = ("none", "off", "on")


def _rate(client, requests: int, call) -> tuple[float, float]:
    """Wall-clock and CPU seconds per request over ``requests`` calls (after a warm-up)."""
    for _ in range(10):
        call(client)
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(requests):
        call(client)
    return (time.perf_counter() - wall) / requests, (time.thread_time() - cpu) / requests


def _apps(settings) -> dict:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from services.accounts.app import create_app

    with mock.patch.object(tracing, "install", lambda app: None):
        none = create_app(settings, verifier=auth.verifier())
    off = create_app(settings, verifier=auth.verifier())
    exporter = InMemorySpanExporter()
    tracing.start(SimpleSpanProcessor(exporter))
    on = create_app(settings, verifier=auth.verifier())  # built while recording: instrumented
    return {"none": none, "off": off, "on": on, "exporter": exporter,
            "recording": (tracing._provider, tracing._tracer)}


def _measure(apps: dict, calls: dict, requests: int, rounds: int) -> dict:
    timings = {(mode, op): [] for mode in MODES for op in calls}
    try:
        for _ in range(rounds):
            for mode in MODES:
                # Only "on" records; the others run as a process without an OTLP endpoint.
                tracing._provider, tracing._tracer = apps["recording"] if mode == "on" else (None, None)
                for op, call in calls.items():
                    timings[(mode, op)].append(_rate(apps[mode].test_client(), requests, call))
                apps["exporter"].clear()
    finally:
        tracing._provider, tracing._tracer = apps["recording"]
        tracing.stop()
    return timings


def bench_tracing(servers, requests: int, rounds: int) -> dict:
    url = servers.new_database("cadena_bench")
    try:
        upgrade("accounts", url)
        settings = config.load("accounts", database_url=url, amqp_url=servers.amqp_url)
        apps = _apps(settings)
        user_id = str(uuid.uuid4())
        headers = {"Authorization": f"Bearer {auth.token('rep', user_id, ttl=3600)}"}
        db = apps["off"].extensions["cadena"].db
        with db.engine.begin() as conn:
            conn.execute(db.tables.users.insert().values(id=user_id, email="t@x.es", name="T", role="rep", active=1,
                                                         token_generation=0, updated_at=utcnow()))
        account = apps["off"].test_client().post("/api/v1/accounts", json={"name": "Bench S.L."},
                                                 headers=headers).get_json()
        path = f"/api/v1/accounts/{account['id']}"
        calls = {
            "read": lambda c: c.get(path, headers=headers).status_code == 200 or _fail(),
            "write": lambda c: c.post("/api/v1/accounts", json={"name": "Traza S.L."},
                                      headers=headers).status_code == 201 or _fail(),
        }
        timings = _measure(apps, calls, requests, rounds)
        hooks = hook_cost(max(requests * 10, 30), rounds)
        for mode in MODES:
            apps[mode].extensions["cadena"].db.dispose()
    finally:
        servers.drop_database(url)
    return {**_figures(timings), "hooks_cpu_us": hooks}


def _bare(mode: str):
    """A Flask app with one route doing nothing, and tracing as ``mode`` sets it."""
    from flask import Flask

    app = Flask(f"bench-{mode}")
    app.add_url_rule("/api/v1/ping", "ping", lambda: "ok")
    if mode != "none":
        tracing.install(app)
    return app


def hook_cost(requests: int = 3000, rounds: int = 7) -> dict:
    """CPU µs the trace hooks add to a request, measured on a request that
    does nothing else (steadier than the difference of two real requests on
    a busy machine), with and without a traceparent; and the outbox write's
    span alone (recording) against its traceparent lookup (off)."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    apps = {"none": _bare("none"), "off": _bare("off")}
    exporter = InMemorySpanExporter()
    tracing.start(SimpleSpanProcessor(exporter))
    apps["on"] = _bare("on")
    recording = (tracing._provider, tracing._tracer)
    carrier = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    cpu = {(m, h): [] for m in MODES for h in ("with_traceparent", "without")}
    try:
        for _ in range(rounds):
            for mode in MODES:
                tracing._provider, tracing._tracer = recording if mode == "on" else (None, None)
                for label, headers in (("with_traceparent", carrier), ("without", {})):
                    client = apps[mode].test_client()
                    cpu[(mode, label)].append(_rate(client, requests, lambda c: c.get("/api/v1/ping", headers=headers))[1])
                exporter.clear()
    finally:
        tracing._provider, tracing._tracer = recording
        tracing.stop()
    best = {key: min(values) for key, values in cpu.items()}
    return {label: {"none_us": round(best[("none", label)] * 1e6, 1),
                    "off_extra_us": round((best[("off", label)] - best[("none", label)]) * 1e6, 1),
                    "on_extra_us": round((best[("on", label)] - best[("none", label)]) * 1e6, 1)}
            for label in ("with_traceparent", "without")}


def _fail():
    raise AssertionError("the benchmark's request failed")


def _figures(timings: dict) -> dict:
    figures = {}
    for op in ("read", "write"):
        wall = {m: min(t[0] for t in timings[(m, op)]) for m in MODES}
        cpu = {m: min(t[1] for t in timings[(m, op)]) for m in MODES}
        figures[op] = {
            "requests_per_s": {m: round(1 / wall[m], 1) for m in MODES},
            "cpu_us_per_request": {m: round(cpu[m] * 1e6, 1) for m in MODES},
            "off_overhead_cpu_us": round((cpu["off"] - cpu["none"]) * 1e6, 1),
            "recording_overhead_cpu_us": round((cpu["on"] - cpu["off"]) * 1e6, 1),
        }
    return figures


def main(args: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="cadena bench tracing")
    parser.add_argument("--requests", type=int, default=500, help="requests per round and operation")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, off and on alternated; medians are kept")
    opts, _ = parser.parse_known_args(args)
    servers = start_servers()
    try:
        figures = bench_tracing(servers, opts.requests, opts.rounds)
    finally:
        servers.stop()
    for label, f in figures["hooks_cpu_us"].items():
        print(f"trace hooks alone ({label.replace('_', ' ')}): a bare request {f['none_us']} µs CPU; tracing off adds "
              f"{f['off_extra_us']:+} µs, recording {f['on_extra_us']:+} µs")
    for op in ("read", "write"):
        f = figures[op]
        rate, cpu = f["requests_per_s"], f["cpu_us_per_request"]
        print(f"tracing, {op} one account: none {rate['none']} req/s ({cpu['none']} µs CPU), off {rate['off']} req/s "
              f"({cpu['off']} µs), recording {rate['on']} req/s ({cpu['on']} µs) → off costs "
              f"{f['off_overhead_cpu_us']:+} µs, recording {f['recording_overhead_cpu_us']:+} µs more per request")
    from bench.runner import save

    print(f"report: {save('tracing', figures)}")
    return figures
