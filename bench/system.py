"""The whole system under writes: where a create's CPU goes.

`cadena up` runs every process on Postgres (databases of its own) and a
RabbitMQ virtual host of its own. N clients create contacts through the
gateway for a fixed time; then the bench waits until every consumer of
`accounts.contact.created` has the event in its inbox (caught up). It
prints the throughput, p50/p99 of a create, the time to catch up, and the
CPU-ms per create of every process involved — web and worker processes,
the Postgres backends serving our databases, the broker — summed from
/proc (bench/cpu.py) from the first request until the last consumer caught
up. CPU per write is the figure to trust on a busy machine: throughput
moves with everyone else's load, CPU spent much less.

Beside it, the same clients drive a bare Flask + SQLAlchemy insert
(bench/bare_insert.py: one row, commit, answer; served by gunicorn as
`cadena serve` serves a component) for the same time, in the same run.

    cadena bench system [--clients 8] [--seconds 15] [--quick] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import urllib3

from bench import cpu
from shared import config

EVENT = "accounts.contact.created"


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1)]


def drive(url: str, headers: dict, clients: int, seconds: float, tag: str) -> dict:
    """`clients` threads POST new contacts to ``url`` for ``seconds``; count and time them."""
    pool = urllib3.PoolManager(maxsize=clients, retries=False, timeout=urllib3.Timeout(connect=2, read=30))
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    began = time.perf_counter()
    deadline = began + seconds

    def run(worker: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            body = {"first_name": "Ana", "last_name": f"García {worker}-{n}",
                    "email": f"ana.{tag}.{worker}.{n}@bench.example"}
            start = time.perf_counter()
            reply = pool.request("POST", url, body=json.dumps(body).encode(), headers=headers)
            if reply.status == 201:
                latencies[worker].append(time.perf_counter() - start)
            else:
                errors.append(f"{reply.status} {reply.data[:160]!r}")
            n += 1

    threads = [threading.Thread(target=run, args=(w,)) for w in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = [v * 1000 for per in latencies for v in per]
    return {"ok": len(flat), "errors": len(errors), "first_error": errors[0] if errors else None,
            "elapsed_s": elapsed, "throughput": len(flat) / elapsed,
            "p50_ms": round(_percentile(flat, 50), 2), "p99_ms": round(_percentile(flat, 99), 2)}


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def _per_write(spent: dict[str, float], writes: int) -> dict[str, float]:
    return {name: round(ms / max(writes, 1), 3) for name, ms in sorted(spent.items())}


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def bench_baseline(servers, clients: int, seconds: float, port: int) -> dict:
    """The bare insert behind gunicorn, driven like the system, with its CPU per write."""
    url = servers.new_database("cadena_bench_bare")
    from shared.migrations import upgrade

    upgrade("accounts", url)
    process = subprocess.Popen([sys.executable, "-m", "bench.bare_insert", "--port", str(port), "--database-url", url],
                               cwd=config.ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    backends = cpu.postgres_backends(libpq(servers.pg_admin_url), [url.rsplit("/", 1)[1]])
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        target = f"http://127.0.0.1:{port}/api/v1/contacts"
        headers = {"Content-Type": "application/json"}
        drive(target, headers, clients, min(2.0, seconds), "warm")

        def find():
            return {**{pid: "bare.web" for pid in cpu.descendants(process.pid)}, **backends()}

        meter = cpu.Meter(find).start()
        result = drive(target, headers, clients, seconds, "bare")
        spent = meter.stop()
        return {"throughput": round(result["throughput"], 1), "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"],
                "creates": result["ok"], "errors": result["errors"],
                "cpu_ms_per_write": round(sum(spent.values()) / max(result["ok"], 1), 3),
                "per_component": _per_write(spent, result["ok"])}
    finally:
        backends.close()
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
        servers.drop_database(url)


class Inboxes:
    """How many contact-created events each consumer has taken in (its inbox),
    and the mean window it took them in (one window shares one received_at)."""

    def __init__(self, system, consumers: list[str]):
        import psycopg

        self.conns = {}
        for name in consumers:
            url = libpq(system.env[f"CADENA_{name.upper()}_DATABASE_URL"])
            self.conns[name] = psycopg.connect(url, autocommit=True, application_name="cadena-bench")

    def counts(self) -> dict[str, int]:
        return {name: conn.execute("SELECT count(*) FROM inbox WHERE routing_key = %s", (EVENT,)).fetchone()[0]
                for name, conn in self.conns.items()}

    def windows(self) -> dict[str, float]:
        out = {}
        for name, conn in self.conns.items():
            n, distinct = conn.execute("SELECT count(*), count(DISTINCT received_at) FROM inbox "
                                       "WHERE routing_key = %s", (EVENT,)).fetchone()
            out[name] = round(n / distinct, 2) if distinct else 0.0
        return out

    def wait(self, expected: int, timeout: float) -> float:
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if all(n >= expected for n in self.counts().values()):
                return time.monotonic() - began
            time.sleep(0.05)
        raise RuntimeError(f"consumers did not catch up in {timeout} s: {self.counts()} of {expected}")

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()


def consumers_of(event: str, components: list[str]) -> list[str]:
    """The components whose workers handle ``event``."""
    import importlib

    from shared.inbox import find_handler

    found = []
    for name in components:
        module = importlib.import_module("gateway.app" if name == "gateway" else f"services.{name}.handlers")
        if find_handler(module.HANDLERS, event) is not None:
            found.append(name)
    return found


def wait_consuming(system, components: list[str], timeout: float = 120) -> None:
    """Until every component's worker consumes its queue (before that, its events would find no queue)."""
    import pika

    from shared.bus import parameters

    deadline = time.monotonic() + timeout
    conn = pika.BlockingConnection(parameters(system.servers.amqp_url))
    try:
        for name in components:
            while True:
                channel = conn.channel()
                try:
                    if channel.queue_declare(f"cadena.{name}.events", passive=True).method.consumer_count:
                        channel.close()
                        break
                    channel.close()
                except pika.exceptions.ChannelClosedByBroker:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {name} worker is not consuming")
                time.sleep(0.2)
    finally:
        conn.close()


def _login(system) -> dict:
    pool = urllib3.PoolManager()
    reply = pool.request("POST", system.urls["gateway"] + "/api/v1/auth/token",
                         body=json.dumps({"email": "admin@cadena.local", "password": "admin"}).encode(),
                         headers={"Content-Type": "application/json"})
    assert reply.status == 200, reply.data
    return {"Content-Type": "application/json", "Authorization": f"Bearer {json.loads(reply.data)['access_token']}"}


def _finder(system, backends):
    def find():
        ours = {pid: cpu.cadena_label(cmd) for pid, cmd in cpu.descendants(system.process.pid).items()}
        return {**ours, **backends(), **{pid: "rabbitmq" for pid in cpu.broker_pids()}}
    return find


def _kinds(per_write: dict[str, float]) -> dict[str, float]:
    kinds: dict[str, float] = {}
    for name, ms in per_write.items():
        kind = name.rsplit(".", 1)[-1] if "." in name else name
        kinds[kind] = round(kinds.get(kind, 0.0) + ms, 3)
    return kinds


def measure(system, clients: int, seconds: float, idle: float) -> dict:
    """Warm up, take the idle rates, then the measured run on a running system."""
    headers = _login(system)
    consumers = consumers_of(EVENT, system.components)
    wait_consuming(system, consumers)
    inboxes = Inboxes(system, consumers)
    backends = cpu.postgres_backends(libpq(system.servers.pg_admin_url), [u.rsplit("/", 1)[1] for u in system.databases])
    target = system.urls["gateway"] + "/api/v1/contacts"
    try:
        warm = drive(target, headers, clients, min(3.0, seconds), "warm")
        inboxes.wait(warm["ok"], 120)
        find = _finder(system, backends)
        idle_rates = cpu.rate(find, idle)
        vhost = getattr(system.servers, "_vhost", None)
        reductions = cpu.broker_reductions(vhost)
        meter = cpu.Meter(find).start()
        began = time.monotonic()
        result = drive(target, headers, clients, seconds, "run")
        catch_up = inboxes.wait(warm["ok"] + result["ok"], 600)
        window = time.monotonic() - began
        spent = meter.stop()
        share = cpu.broker_share(reductions, cpu.broker_reductions(vhost))
        raw_broker = spent.get("rabbitmq", 0.0)
        # The broker is shared: our virtual host's share of its reductions, else its rise over the idle rate.
        spent["rabbitmq"] = (raw_broker * share if share is not None
                             else max(0.0, raw_broker - idle_rates.get("rabbitmq", 0.0) * window))
        return {"broker_share": share, "result": result, "catch_up_s": round(catch_up, 2), "spent": spent, "window_s": window,
                "raw_broker_ms": raw_broker, "idle": idle_rates, "consumers": consumers,
                "mean_window": inboxes.windows()}
    finally:
        inboxes.close()
        backends.close()


def bench_system(servers, clients: int, seconds: float, base_port: int, idle: float) -> dict:
    from bench.aggregate import System

    system = System(servers, base_port)
    try:
        system.start(timeout=180)
        run = measure(system, clients, seconds, idle)
    finally:
        system.stop()
    result, creates = run["result"], run["result"]["ok"]
    per_write = _per_write(run["spent"], creates)
    return {"throughput": round(result["throughput"], 1), "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"],
            "creates": creates, "errors": result["errors"], "first_error": result["first_error"],
            "catch_up_s": run["catch_up_s"], "window_s": round(run["window_s"], 2),
            "cpu_ms_per_write": round(sum(run["spent"].values()) / max(creates, 1), 3),
            "per_component": per_write, "per_kind": _kinds(per_write),
            "rabbitmq_raw_ms_per_write": round(run["raw_broker_ms"] / max(creates, 1), 3),
            "rabbitmq_share": None if run["broker_share"] is None else round(run["broker_share"], 3),
            "idle_cpu_ms_per_s": {k: round(v, 2) for k, v in sorted(run["idle"].items())},
            "consumers": run["consumers"], "mean_consumer_window": run["mean_window"]}


def main(args: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="cadena bench system")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle system measured before the run")
    parser.add_argument("--base-port", type=int, default=int(os.environ.get("CADENA_BENCH_BASE_PORT", "24700")))
    parser.add_argument("--quick", action="store_true", help="5 s runs (the whole bench in under 2 minutes)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object on the last line")
    opts, _ = parser.parse_known_args(args)
    if opts.quick:
        opts.seconds, opts.idle = min(opts.seconds, 5.0), min(opts.idle, 2.0)
    from tests.support.servers import start as start_servers

    servers = start_servers()
    try:
        baseline = bench_baseline(servers, opts.clients, opts.seconds, opts.base_port + 40)
        figures = bench_system(servers, opts.clients, opts.seconds, opts.base_port, opts.idle)
    finally:
        servers.stop()
    figures.update(baseline_throughput=baseline["throughput"], baseline=baseline, clients=opts.clients,
                   seconds=opts.seconds, cores=os.cpu_count())
    figures["throughput_vs_baseline"] = round(figures["throughput"] / max(baseline["throughput"], 0.1), 3)
    _print(figures)
    from bench.runner import save

    print(f"report: {save('system', figures)}")
    if opts.json:
        print(json.dumps(figures, separators=(",", ":")))
    return figures


def _print(f: dict) -> None:
    b = f["baseline"]
    print(f"system: {f['creates']} creates through the gateway in {f['seconds']:g} s with {f['clients']} clients: "
          f"{f['throughput']}/s, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms; every consumer caught up "
          f"{f['catch_up_s']} s after the last request; errors: {f['errors']}")
    print(f"  bare Flask+SQLAlchemy insert, same clients: {b['throughput']}/s (p50 {b['p50_ms']} ms), "
          f"{b['cpu_ms_per_write']} CPU-ms per insert → system at {f['throughput_vs_baseline']}× its throughput")
    print(f"  CPU per create: {f['cpu_ms_per_write']} ms in all  " +
          "  ".join(f"{k} {v}" for k, v in f["per_kind"].items()))
    for name, ms in sorted(f["per_component"].items(), key=lambda kv: -kv[1]):
        print(f"    {name:<22} {ms:>7.3f} ms")
    print(f"  (rabbitmq: the broker is shared; {f['rabbitmq_raw_ms_per_write']} ms per create for the whole VM, of which "
          f"our virtual host did {f['rabbitmq_share']} of the work by its reductions.) "
          f"Mean consumer window: {f['mean_consumer_window']}")
