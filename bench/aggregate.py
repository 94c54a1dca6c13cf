"""The customer 360 against its slowest slice, on the real system.

`cadena up` runs every process (gunicorn web processes, workers) on its own
ports and Postgres databases; one customer gets contacts, deals, activities,
cases and a campaign through the gateway. Then, alternating, in one run:

- the 360: GET /api/v1/customers/{id}/360 through the gateway, which asks every
  service in parallel (gateway/aggregates.py, one deadline for all);
- each of the calls it makes, sent directly to the owning service with the
  same token, one at a time: one per service, its parts in one
  `GET /internal/v1/parts` where it has several (gateway.aggregates);
- each of the reads those calls hold (gateway.aggregates.slices), alone.

ratio = median 360 / median of the slowest call it makes. Target ≤ 1.3: the
fan-out should cost little more than its slowest part. Also reported: the
360 against the slowest single read, the sum of the calls (a client asking
one by one) and one routed call through the gateway vs the same call direct
(the gateway's own cost).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import urllib3

from shared import config
from shared.parts import PATH as PARTS

POOL = urllib3.PoolManager(maxsize=8, retries=False)


def _call(method: str, url: str, token: str | None = None, body=None) -> tuple[int, dict | None]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    reply = POOL.request(method, url, body=json.dumps(body).encode() if body is not None else None, headers=headers,
                         timeout=urllib3.Timeout(connect=2, read=30))
    data = json.loads(reply.data) if reply.data and reply.headers.get("Content-Type", "").endswith("json") else None
    return reply.status, data


class System:
    """`cadena up` on ports of its own, one Postgres database per component."""

    def __init__(self, servers, base_port: int):
        from shared.cli import built_components

        self.servers = servers
        self.base = base_port
        self.var = Path(tempfile.mkdtemp(prefix="cadena-bench-"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CADENA_")}
        self.env.update({"CADENA_ENV": "dev", "CADENA_VAR_DIR": str(self.var), "CADENA_AMQP_URL": servers.amqp_url,
                         "CADENA_GATEWAY_PORT": str(base_port), "CADENA_GATEWAY_URL": f"http://127.0.0.1:{base_port}",
                         "CADENA_SMTP_SINK_PORT": str(base_port + 25), "CADENA_LOG_LEVEL": "WARNING"})
        self.components = built_components("")
        self.databases = []
        for name in self.components:
            url = servers.new_database(f"cadena_bench_{name}")
            self.databases.append(url)
            self.env[f"CADENA_{name.upper()}_DATABASE_URL"] = url
        self.urls = {"gateway": f"http://127.0.0.1:{base_port}"}
        for name, port in config.SERVICE_PORTS.items():
            self.urls[name] = f"http://127.0.0.1:{base_port + port - config.GATEWAY_PORT}"
            self.env[f"CADENA_{name.upper()}_URL"] = self.urls[name]
        self.process = None

    def start(self, timeout: float = 90) -> None:
        cli = str(Path(sys.executable).with_name("cadena"))
        self.process = subprocess.Popen([cli, "up", "--no-seed"], env=self.env, cwd=config.ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        for name in self.components:
            while True:
                try:
                    with urllib.request.urlopen(self.urls[name] + "/readyz", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except Exception:
                    pass
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{name} did not become ready; see {self.var}/log/cadena.log")
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for url in self.databases:
            try:
                self.servers.drop_database(url)
            except Exception:
                pass


def seed_customer(system: System, token: str, contacts: int = 10) -> str:
    """One customer with something in every service (as a user would make it, through the gateway)."""
    gw = system.urls["gateway"] + "/api/v1"
    now = datetime.now(timezone.utc)
    status, account = _call("POST", f"{gw}/accounts", token, {
        "name": "Bodegas Benchmark S.A.", "industry": "Wine", "country": "ES",
        "annual_revenue": {"amount": "9200000.00", "currency": "EUR"}})
    assert status == 201, account
    account_id = account["id"]
    contact_ids = []
    for i in range(contacts):
        status, contact = _call("POST", f"{gw}/contacts", token, {
            "first_name": f"Nombre{i}", "last_name": "Apellido", "account_id": account_id, "title": "Director",
            "email": f"c{i}.{account_id[:8]}@bench.example"})
        assert status == 201, contact
        contact_ids.append(contact["id"])
    if "opportunities" in system.components:
        for i in range(6):
            status, opp = _call("POST", f"{gw}/opportunities", token, {
                "name": f"Deal {i}", "account_id": account_id, "amount": {"amount": f"{1000 * (i + 1)}.00",
                                                                          "currency": "EUR"}})
            assert status == 201, opp
            if i < 2:
                assert _call("POST", f"{gw}/opportunities/{opp['id']}/win", token, {"reason": "bench"})[0] == 200
    if "activities" in system.components:
        for i in range(10):
            when = now + timedelta(days=i - 5)
            status, body = _call("POST", f"{gw}/activities", token, {
                "type": "call", "subject": f"Llamada {i}", "starts_at": when.isoformat(), "account_id": account_id,
                "contact_id": contact_ids[i % len(contact_ids)]})
            assert status == 201, body
    if "support" in system.components:
        for i in range(5):
            status, body = _call("POST", f"{gw}/cases", token, {"subject": f"Caso {i}", "account_id": account_id})
            assert status == 201, body
    if "campaigns" in system.components:
        status, body = _call("POST", f"{gw}/campaigns", token, {"name": "Vendimia", "channel": "email",
                                                                "segment": {"industry": ["Wine"]}})
        assert status == 201, body
        _call("POST", f"{gw}/campaigns/{body['id']}/members/build", token, {})
    return account_id


def _median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def bench_aggregate(servers, rounds: int, base_port: int) -> dict:
    from gateway.aggregates import call_path, slices

    system = System(servers, base_port)
    try:
        system.start()
        status, token = _call("POST", system.urls["gateway"] + "/api/v1/auth/token", None,
                              {"email": "admin@cadena.local", "password": "admin"})
        assert status == 200, token
        token = token["access_token"]
        account_id = seed_customer(system, token)
        gateway_360 = f"{system.urls['gateway']}/api/v1/customers/{account_id}/360"
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        plan = {service: parts for service, parts in slices(account_id, now).items() if service in system.components}
        calls = {service: system.urls[service] + call_path(parts) for service, parts in plan.items()}
        reads = {f"{service}.{part}": system.urls[service] + path
                 for service, parts in plan.items() for part, path in parts.items()}
        partial = []

        def whole():
            status, body = _call("GET", gateway_360, token)
            assert status == 200, body
            if body["partial"]:
                partial.append(body["unavailable"])

        def one(url):
            def call():
                status, body = _call("GET", url, token)
                assert status == 200, (url, status, body)
                if PARTS in url:  # every part answered, not only the call
                    assert {part["status"] for part in body.values()} == {200}, (url, body)
            return call

        for fn in [whole] + [one(u) for u in (*calls.values(), *reads.values())]:  # warm every pool and cache
            for _ in range(3):
                fn()
        partial.clear()
        samples = {"360": [], **{name: [] for name in calls}}
        single = {name: [] for name in reads}
        for _ in range(rounds):  # interleaved: drift hits the 360 and its parts alike
            samples["360"].append(_median_ms(whole, 1))
            for name, url in calls.items():
                samples[name].append(_median_ms(one(url), 1))
            for name, url in reads.items():
                single[name].append(_median_ms(one(url), 1))
        medians = {name: round(statistics.median(values), 2) for name, values in samples.items()}
        read_ms = {name: round(statistics.median(values), 2) for name, values in single.items()}
        slowest = max((n for n in medians if n != "360"), key=medians.get)
        slowest_read = max(read_ms, key=read_ms.get)
        routed = _median_ms(one(f"{system.urls['gateway']}/api/v1/accounts/{account_id}"), rounds)
        direct = _median_ms(one(f"{system.urls['accounts']}/api/v1/accounts/{account_id}"), rounds)
        return {"customer_360_ms": medians["360"], "slowest_slice": slowest, "slowest_slice_ms": medians[slowest],
                "ratio": round(medians["360"] / medians[slowest], 3), "target": 1.3,
                "sum_of_slices_ms": round(sum(v for n, v in medians.items() if n != "360"), 2),
                # The parts' work spread over every core: what a perfect fan-out could reach here.
                "cpu_floor_ms": round(sum(v for n, v in medians.items() if n != "360") / (os.cpu_count() or 1), 2),
                "calls_per_360": len(calls), "slices_ms": {n: v for n, v in medians.items() if n != "360"},
                "reads_per_360": len(reads), "reads_ms": read_ms, "slowest_read": slowest_read,
                "slowest_read_ms": read_ms[slowest_read],
                "ratio_vs_slowest_read": round(medians["360"] / read_ms[slowest_read], 3),
                "partial_answers": len(partial), "rounds": rounds,
                "routed_get_account_ms": round(routed, 2), "direct_get_account_ms": round(direct, 2),
                "gateway_routing_overhead_ms": round(routed - direct, 2),
                "ratio_vs_cpu_floor": round(medians["360"] * (os.cpu_count() or 1)
                                            / sum(v for n, v in medians.items() if n != "360"), 3)}
    finally:
        system.stop()


def main(args: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="cadena bench aggregate")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--base-port", type=int, default=int(os.environ.get("CADENA_BENCH_BASE_PORT", "24600")))
    opts, _ = parser.parse_known_args(args)
    from tests.support.servers import start as start_servers

    servers = start_servers()
    try:
        figures = bench_aggregate(servers, opts.rounds, opts.base_port)
    finally:
        servers.stop()
    print(f"customer 360: {figures['customer_360_ms']} ms vs its slowest slice ({figures['slowest_slice']}) "
          f"{figures['slowest_slice_ms']} ms → ratio {figures['ratio']} (target ≤ {figures['target']}); "
          f"{figures['calls_per_360']} calls, one by one {figures['sum_of_slices_ms']} ms; "
          f"partial answers: {figures['partial_answers']}")
    print(f"  against its slowest single read ({figures['slowest_read']}) {figures['slowest_read_ms']} ms: "
          f"ratio {figures['ratio_vs_slowest_read']}; {figures['reads_per_360']} reads in all")
    print(f"  the parts' work over {os.cpu_count()} cores: {figures['cpu_floor_ms']} ms → the 360 is "
          f"{figures['ratio_vs_cpu_floor']}× that floor")
    print(f"  gateway routing: GET account {figures['routed_get_account_ms']} ms routed vs "
          f"{figures['direct_get_account_ms']} ms direct")
    from bench.runner import save

    print(f"report: {save('aggregate', figures)}")
    return figures
