"""`cadena bench import`: a contacts CSV imported into Postgres through the
bulk path, against raw baselines of the same rows in the same run.

- ours: the accounts worker (a real `cadena worker accounts` process) runs
  the import job: every row checked as the API checks a body, written in
  batches of 500 with its outbox row, in one transaction per batch. Rows/s
  is from the job's start to its end (`started_at` → `finished_at`).
  Target ≥ 5,000 rows/s.
- catch-up: from the job's start (and from its end) until every service that consumes
  `accounts.contact.created` (opportunities, activities, campaigns, support
  and the gateway's timeline, each a real worker process on its own
  database) has handled every event the import published. Target ≤ 30 s.
- raw: the same rows into the same contacts table with psycopg's COPY and
  with executemany (no checks, no events), on a database of their own.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

from sqlalchemy import func, insert, select

from bench import cpu
from shared import config
from shared.migrations import upgrade

CONSUMERS = ("opportunities", "activities", "campaigns", "support", "gateway")
ROUTING_KEY = "accounts.contact.created"


def contacts_csv(n: int) -> str:
    lines = ["first_name,last_name,email,phone,title,lifecycle_stage,interests"]
    lines += [f"Ana{i},García López,ana.{i}@bench.example,+34 600 {i:06d},Compras,prospect,vino;queso"
              for i in range(n)]
    return "\n".join(lines) + "\n"


def _open(component: str, url: str, amqp_url: str):
    module = __import__("gateway.app" if component == "gateway" else f"services.{component}.app",
                        fromlist=["open_db"])
    return module.open_db(config.load(component, database_url=url, amqp_url=amqp_url))


def _workers(urls: dict[str, str], amqp_url: str) -> list[subprocess.Popen]:
    env = {k: v for k, v in config.child_environment().items() if not k.startswith("CADENA_")}
    env.update({"CADENA_AMQP_URL": amqp_url, "CADENA_LOG_LEVEL": "WARNING", "CADENA_ENV": "dev",
                **{f"CADENA_{name.upper()}_DATABASE_URL": url for name, url in urls.items()}})
    return [subprocess.Popen([sys.executable, "-m", "shared.cli", "worker", name], env=env, cwd=config.ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in urls]


def _wait_for_queues(amqp_url: str, names, timeout: float = 60) -> None:
    """Every consumer's queue declared and consumed, so no event finds it missing."""
    import pika

    from shared.bus import parameters

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = pika.BlockingConnection(parameters(amqp_url))
        try:
            ready = 0
            for name in names:
                channel = conn.channel()
                try:
                    ready += channel.queue_declare(f"cadena.{name}.events", passive=True).method.consumer_count > 0
                except pika.exceptions.ChannelClosedByBroker:
                    pass
            if ready == len(names):
                return
        finally:
            if conn.is_open:
                conn.close()
        time.sleep(0.5)
    raise RuntimeError("the consumers' queues did not come up in time")


def _start_import(db, body: str) -> str:
    from shared.import_csv import count_rows, layout
    from services.accounts.imports import REGISTRY

    kind = REGISTRY.kinds["contacts"]
    lay = layout(body, kind.spec, {}, None)
    import_id = str(uuid.uuid4())
    with db.transaction() as uow:
        uow.session.execute(insert(REGISTRY.tables.imports).values(
            id=import_id, kind="contacts", status="pending", dry_run=False, match=None, header=lay.header,
            targets=lay.targets, delimiter=lay.delimiter, body=body.encode(), importer_id=str(uuid.uuid4()),
            importer_role="admin", importer_team=None, total=count_rows(body, lay.delimiter), processed=0,
            created=0, updated=0, failed=0, created_at=datetime.now(timezone.utc)))
    return import_id


def _job(db, import_id: str):
    from services.accounts.imports import REGISTRY

    t = REGISTRY.tables.imports
    with db.sessions() as session:
        return session.execute(select(t.c.status, t.c.created, t.c.failed, t.c.started_at, t.c.finished_at)
                               .where(t.c.id == import_id)).first()


def _meter(servers, urls: dict[str, str], processes: list[subprocess.Popen]):
    """A CPU meter over the workers (by component), our databases' Postgres
    backends and the broker; and the finder of backends, to close after."""
    from bench.system import libpq

    backends = cpu.postgres_backends(libpq(servers.pg_admin_url), [url.rsplit("/", 1)[1] for url in urls.values()])
    workers = {p.pid: name for p, name in zip(processes, urls)}

    def find() -> dict[int, str]:
        return {**workers, **backends(), **{pid: "rabbitmq" for pid in cpu.broker_pids()}}

    return cpu.Meter(find), backends


def _cpu_figures(spent: dict[str, float], rows: int) -> dict:
    per_row = {name: round(ms / rows, 3) for name, ms in spent.items()}
    total = sum(spent.values()) / rows
    return {"cpu_ms_per_row": per_row, "cpu_ms_per_row_total": round(total, 3),
            "ceiling_rows_per_s": round((os.cpu_count() or 1) * 1000 / total, 1) if total else None}


def _wait_for_consumers(dbs: dict, rows: int, deadline: float, every: float = 1.0) -> None:
    """Until every consumer has handled every event the import published,
    counting each pending consumer's inbox every ``every`` seconds (so the
    catch-up figures are late by at most that). Counting five growing inboxes
    five times a second cost the databases about 0.05 CPU-ms per imported
    row, which the meter took for the pipeline's; asking the broker for each
    quorum queue's waiting messages instead (a passive declare, five times a
    second) slowed the gateway's consumer (caught up 37–41 s after the
    import's end against 19–22 s; its worker 0.32–0.35 CPU-ms per row
    against 0.20–0.23), for a reason not looked into."""
    pending = set(CONSUMERS)
    while pending:
        pending = {name for name in pending if _handled(dbs[name]) < rows}
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"consumers still behind: {sorted(pending)}")
        if pending:
            time.sleep(every)


def _handled(db) -> int:
    inbox = db.tables.inbox
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(inbox).where(inbox.c.routing_key == ROUTING_KEY))


def _raw(servers, rows: int) -> dict:
    """COPY and executemany of the same contact rows (values as the job writes them)."""
    from psycopg.types.json import Json

    url = servers.new_database("cadena_bench_raw")
    try:
        upgrade("accounts", url)
        db = _open("accounts", url, servers.amqp_url)
        now = datetime.now(timezone.utc)
        owner = str(uuid.uuid4())
        columns = ("id", "first_name", "last_name", "email", "phone", "title", "lifecycle_stage", "owner_id",
                   "interests", "version", "created_at", "updated_at", "lifecycle_changed_at")
        values = [(str(uuid.uuid4()), f"Ana{i}", "García López", f"ana.{i}@bench.example", f"+34 600 {i:06d}",
                   "Compras", "prospect", owner, Json(["vino", "queso"]), 1, now, now, now) for i in range(rows)]
        figures = {}
        with db.engine.raw_connection() as conn:
            driver = conn.driver_connection
            began = time.perf_counter()
            with driver.cursor() as cursor, cursor.copy(f"COPY contacts ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            driver.commit()
            figures["copy_rows_per_s"] = rows / (time.perf_counter() - began)
            with driver.cursor() as cursor:
                # TRUNCATE: a DELETE checks the reports_to foreign key row by row
                cursor.execute("TRUNCATE contacts CASCADE")
            driver.commit()
            values = [(str(uuid.uuid4()), *row[1:]) for row in values]
            began = time.perf_counter()
            with driver.cursor() as cursor:
                for start in range(0, rows, 500):
                    cursor.executemany(f"INSERT INTO contacts ({', '.join(columns)}) VALUES "
                                       f"({', '.join(['%s'] * len(columns))})", values[start:start + 500])
            driver.commit()
            figures["executemany_rows_per_s"] = rows / (time.perf_counter() - began)
        db.dispose()
        return figures
    finally:
        servers.drop_database(url)


def _measure(servers, urls: dict[str, str], dbs: dict, processes: list[subprocess.Popen], rows: int,
             timeout: float) -> dict:
    """One import into the running workers: its rate, the consumers' catch-up and the CPU it all took."""
    body = contacts_csv(rows)
    meter, backends = _meter(servers, urls, processes)
    try:
        accounts_before = cpu.ticks(processes[0].pid, children=False) or 0
        meter.start()
        import_id = _start_import(dbs["accounts"], body)
        deadline = time.monotonic() + timeout
        while (job := _job(dbs["accounts"], import_id)).status not in ("done", "failed"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the import did not finish in {timeout} s")
            time.sleep(0.2)
        assert job.status == "done" and job.created == rows, job
        worker_cpu = ((cpu.ticks(processes[0].pid, children=False) or 0) - accounts_before) * cpu.TICK_MS / 1000
        _wait_for_consumers(dbs, rows, deadline)
        caught_up = datetime.now(timezone.utc)
        spent = meter.stop()
    finally:
        backends.close()
    import_seconds = (job.finished_at - job.started_at).total_seconds()
    return {"rows": rows, "import_rows_per_s": round(rows / import_seconds, 1),
            "import_seconds": round(import_seconds, 2), "target_rows_per_s": 5000,
            "catch_up_seconds": round((caught_up - job.started_at).total_seconds(), 2),
            "catch_up_after_import_seconds": round((caught_up - job.finished_at).total_seconds(), 2),
            "target_catch_up_seconds": 30, "consumers": list(CONSUMERS),
            # CPU the accounts worker spent until the job ended (the job, and its relay publishing the
            # events): a figure the other processes on a shared machine do not move
            "rows_per_worker_cpu_second": round(rows / worker_cpu, 1) if worker_cpu else None,
            # from the job's start until every consumer caught up: each worker, Postgres, the broker
            **_cpu_figures(spent, rows)}


def bench_import(servers, rows: int, timeout: float = 1800) -> dict:
    urls = {name: servers.new_database(f"cadena_bench_{name}") for name in ("accounts", *CONSUMERS)}
    processes: list[subprocess.Popen] = []
    dbs = {}
    try:
        for name, url in urls.items():
            upgrade(name, url)
            dbs[name] = _open(name, url, servers.amqp_url)
        processes = _workers(urls, servers.amqp_url)
        _wait_for_queues(servers.amqp_url, CONSUMERS)
        figures = _measure(servers, urls, dbs, processes, rows, timeout)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        for db in dbs.values():
            db.dispose()
        for url in urls.values():
            servers.drop_database(url)
    print(f"  ours: {figures}", flush=True)
    raw = _raw(servers, rows)
    figures.update({k: round(v, 1) for k, v in raw.items()})
    figures["ratio_to_copy"] = round(figures["import_rows_per_s"] / raw["copy_rows_per_s"], 3)
    figures["ratio_to_executemany"] = round(figures["import_rows_per_s"] / raw["executemany_rows_per_s"], 3)
    return figures


def main(args: list[str]) -> dict:
    os.environ.setdefault("CADENA_LOG_LEVEL", "WARNING")
    from shared.observability import configure_logging

    configure_logging("bench")
    parser = argparse.ArgumentParser(prog="cadena bench import")
    parser.add_argument("--rows", type=int, default=100_000)
    opts, _ = parser.parse_known_args(args)
    from tests.support.servers import start as start_servers

    servers = start_servers()
    try:
        figures = bench_import(servers, opts.rows)
    finally:
        servers.stop()
    print(f"import: {figures['rows']} contacts through the bulk path at {figures['import_rows_per_s']} rows/s "
          f"(target ≥ {figures['target_rows_per_s']}) vs raw COPY {figures['copy_rows_per_s']} rows/s "
          f"(ratio {figures['ratio_to_copy']}) and executemany {figures['executemany_rows_per_s']} rows/s "
          f"(ratio {figures['ratio_to_executemany']})")
    print(f"  {figures['rows_per_worker_cpu_second']} rows per CPU second of the accounts worker (job and relay)")
    print(f"  CPU-ms per row, from the job's start until the last consumer caught up: "
          f"{figures['cpu_ms_per_row']} ({figures['cpu_ms_per_row_total']} in all); at that cost this machine's "
          f"{os.cpu_count()} cores, busy with nothing else, would carry at most {figures['ceiling_rows_per_s']} rows/s "
          f"with every consumer keeping pace")
    print(f"  every consumer ({', '.join(figures['consumers'])}) caught up {figures['catch_up_seconds']} s after "
          f"the import started, {figures['catch_up_after_import_seconds']} s after it ended "
          f"(target ≤ {figures['target_catch_up_seconds']} s)")
    from bench.runner import save

    print(f"report: {save('import', figures)}")
    return figures
