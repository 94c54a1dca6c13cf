"""What tracing costs a request (shared/tracing.py): the accounts service in
process (the Flask test client, so only the server's own work is timed)
reading one account and creating one (a write: an outbox row and its
`create` span), first with tracing off as `cadena up` runs it (propagation
only: no SDK, no exporter), then recording every span into an in-memory
exporter (the SDK, Flask instrumentation and Cadena's spans; only the
network send of OTLP is left out). Same run, same database, rounds
alternated so drift hits both; printed as requests/s and µs per request."""
from __future__ import annotations

import argparse
import statistics
import time
import uuid

from shared import config, tracing
from shared.db import utcnow
from shared.migrations import upgrade
from tests.support import auth
from tests.support.servers import start as start_servers


def _rate(client, requests: int, call) -> float:
    """Seconds per request over ``requests`` calls (after a warm-up)."""
    for _ in range(20):
        call(client)
    started = time.perf_counter()
    for _ in range(requests):
        call(client)
    return (time.perf_counter() - started) / requests


def _app(settings):
    from services.accounts.app import create_app

    return create_app(settings, verifier=auth.verifier())


def bench_tracing(servers, requests: int, rounds: int) -> dict:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    url = servers.new_database("cadena_bench")
    try:
        upgrade("accounts", url)
        settings = config.load("accounts", database_url=url, amqp_url=servers.amqp_url)
        user_id = str(uuid.uuid4())
        headers = {"Authorization": f"Bearer {auth.token('rep', user_id, ttl=3600)}"}
        off_app = _app(settings)
        db = off_app.extensions["cadena"].db
        with db.engine.begin() as conn:
            conn.execute(db.tables.users.insert().values(id=user_id, email="t@x.es", name="T", role="rep", active=1,
                                                         token_generation=0, updated_at=utcnow()))
        account = off_app.test_client().post("/api/v1/accounts", json={"name": "Bench S.L."},
                                             headers=headers).get_json()
        path = f"/api/v1/accounts/{account['id']}"

        def read(client):
            assert client.get(path, headers=headers).status_code == 200

        def write(client):
            assert client.post("/api/v1/accounts", json={"name": "Traza S.L."}, headers=headers).status_code == 201

        exporter = InMemorySpanExporter()
        tracing.start(SimpleSpanProcessor(exporter))
        on_app = _app(settings)  # built while recording: its requests are instrumented
        recording = (tracing._provider, tracing._tracer)
        timings = {(mode, op): [] for mode in ("off", "on") for op in ("read", "write")}
        try:
            for _ in range(rounds):
                for mode, app in (("off", off_app), ("on", on_app)):
                    # Off: no provider, as a process without OTEL_EXPORTER_OTLP_ENDPOINT runs.
                    tracing._provider, tracing._tracer = recording if mode == "on" else (None, None)
                    for op, call in (("read", read), ("write", write)):
                        timings[(mode, op)].append(_rate(app.test_client(), requests, call))
                    exporter.clear()
        finally:
            tracing._provider, tracing._tracer = recording
            tracing.stop()
        for app in (off_app, on_app):
            app.extensions["cadena"].db.dispose()
    finally:
        servers.drop_database(url)
    return _figures(timings)


def _figures(timings: dict) -> dict:
    figures = {}
    for op in ("read", "write"):
        off, on = statistics.median(timings[("off", op)]), statistics.median(timings[("on", op)])
        figures[op] = {"off_requests_per_s": round(1 / off, 1), "on_requests_per_s": round(1 / on, 1),
                       "off_us_per_request": round(off * 1e6, 1), "on_us_per_request": round(on * 1e6, 1),
                       "tracing_overhead_us": round((on - off) * 1e6, 1)}
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
    for op, f in figures.items():
        print(f"tracing, {op} one account: off {f['off_requests_per_s']} req/s ({f['off_us_per_request']} µs), "
              f"on {f['on_requests_per_s']} req/s ({f['on_us_per_request']} µs) → "
              f"+{f['tracing_overhead_us']} µs per request")
    from bench.runner import save

    print(f"report: {save('tracing', figures)}")
    return figures
