"""Listing contacts stays flat with table size: GET /api/v1/contacts?limit=100
on page 1 vs on page N of a table of --rows contacts (1,000,000 by default;
page N = 10,000 then, the last one).

Keyset cursors encode (created_at, id), so page N is reached directly with
the cursor of the last row of page N-1, read from SQL (following 10,000
cursors one by one would measure the walk, not the page).

Figures, all from one run: the API's page N — and its middle page, N/2 —
against its page 1 (the target: flat, ratio ≤ 1.2), and two raw SQL
baselines for the same pages through psycopg — the keyset query written as a
row comparison, and OFFSET — to show what the index can do and what OFFSET
costs. The last page is the easy case for a keyset written as an OR of two
comparisons (few rows follow the cursor); the middle one is not.
"""
from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

from shared import config
from shared.http import encode_cursor
from shared.migrations import upgrade
from tests.support import auth

COLUMNS = ("id", "first_name", "last_name", "email", "lifecycle_stage", "owner_id", "interests", "version",
           "created_at", "updated_at")


def plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def fill(url: str, rows: int) -> float:
    """COPY `rows` contacts in; three share each created_at so the id tie-break matters. Returns seconds."""
    import psycopg

    owners = [str(uuid.uuid4()) for _ in range(50)]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    stages = ("prospect", "potential_customer", "active_customer", "inactive_customer")
    began = time.perf_counter()
    with psycopg.connect(plain_url(url)) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY contacts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for i in range(rows):
                    at = start + timedelta(milliseconds=10 * (i // 3))
                    copy.write_row((str(uuid.uuid4()), "Ana", f"García {i}", f"c{i}@bench.example", stages[i % 4],
                                    owners[i % 50], "[]", 1, at, at))
        conn.execute("ANALYZE contacts")
    return time.perf_counter() - began


def cursor_before(url: str, page: int, limit: int) -> str | None:
    """The cursor the API would hand out at the end of page-1: the last row of that page."""
    import psycopg

    if page <= 1:
        return None
    with psycopg.connect(plain_url(url)) as conn:
        created_at, ident = conn.execute(
            "SELECT created_at, id FROM contacts WHERE deleted_at IS NULL ORDER BY created_at, id "
            "LIMIT 1 OFFSET %s", ((page - 1) * limit - 1,)).fetchone()
    return encode_cursor([created_at.astimezone(timezone.utc), ident])


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm: plans cached, pages in memory
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def _plan_of_the_api_query(app, call) -> list[str]:
    """How Postgres runs the very SELECT the API sent for a mid-table page (EXPLAIN of it)."""
    from sqlalchemy import event

    engine = app.extensions["cadena"].db.engine
    sent = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT") and "FROM contacts" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    statement, parameters = sent[-1]
    with engine.connect() as conn:
        return [row[0].strip() for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]


def bench_listing(servers, rows: int, limit: int = 100, page: int | None = None, repeat: int = 25) -> dict:
    """Page 1, the middle page and page N (the deep one) through the API, and raw SQL baselines."""
    import psycopg

    page = page or max(2, min(10_000, rows // limit))
    middle = max(2, page // 2)
    url = servers.new_database("cadena_bench")
    try:
        upgrade("accounts", url)
        fill_s = fill(url, rows)
        from services.accounts.app import create_app

        app = create_app(config.load("accounts", database_url=url, amqp_url=servers.amqp_url),
                         verifier=auth.verifier())
        client = app.test_client()
        headers = auth.headers("admin")

        def api(cursor_value):
            path = f"/api/v1/contacts?limit={limit}" + (f"&cursor={cursor_value}" if cursor_value else "")

            def call():
                reply = client.get(path, headers=headers)
                assert reply.status_code == 200 and len(reply.get_json()["items"]) == limit, reply.status_code
            return call

        first_ms = _median_ms(api(None), repeat)
        deep_ms = _median_ms(api(cursor_before(url, page, limit)), repeat)
        middle_ms = _median_ms(api(cursor_before(url, middle, limit)), repeat)
        plan = _plan_of_the_api_query(app, api(cursor_before(url, middle, limit)))
        raw = {}
        with psycopg.connect(plain_url(url)) as conn:
            for name, number in (("page_n", page), ("middle", middle)):
                created_at, ident = conn.execute(
                    "SELECT created_at, id FROM contacts ORDER BY created_at, id LIMIT 1 OFFSET %s",
                    ((number - 1) * limit - 1,)).fetchone()
                keyset_sql = ("SELECT * FROM contacts WHERE deleted_at IS NULL AND (created_at, id) > (%s, %s) "
                              "ORDER BY created_at, id LIMIT %s")
                offset_sql = ("SELECT * FROM contacts WHERE deleted_at IS NULL ORDER BY created_at, id "
                              "LIMIT %s OFFSET %s")
                raw[f"raw_keyset_{name}_ms"] = round(_median_ms(
                    lambda: conn.execute(keyset_sql, (created_at, ident, limit + 1)).fetchall(), repeat), 2)
                raw[f"raw_offset_{name}_ms"] = round(_median_ms(
                    lambda: conn.execute(offset_sql, (limit, (number - 1) * limit)).fetchall(), max(3, repeat // 5)), 2)
        app.extensions["cadena"].db.dispose()
        worst = max(deep_ms, middle_ms)
        return {"rows": rows, "limit": limit, "page": page, "middle_page": middle, "fill_seconds": round(fill_s, 1),
                "page_1_ms": round(first_ms, 2), "page_n_ms": round(deep_ms, 2), "middle_page_ms": round(middle_ms, 2),
                "ratio": round(deep_ms / first_ms, 3), "middle_ratio": round(middle_ms / first_ms, 3),
                "worst_ratio": round(worst / first_ms, 3), "target": 1.2, **raw,
                "plan_of_the_api_query_mid_table": plan}
    finally:
        servers.drop_database(url)


def report(figures: dict) -> None:
    f = figures
    print(f"contacts list at {f['rows']:,} rows, limit {f['limit']}: page 1 {f['page_1_ms']} ms, "
          f"page {f['page']:,} {f['page_n_ms']} ms → ratio {f['ratio']}; middle page {f['middle_page']:,} "
          f"{f['middle_page_ms']} ms → ratio {f['middle_ratio']} (target ≤ {f['target']}, flat)")
    print(f"  raw SQL page {f['page']:,}: keyset {f['raw_keyset_page_n_ms']} ms, "
          f"OFFSET {f['raw_offset_page_n_ms']} ms; "
          f"page {f['middle_page']:,}: keyset {f['raw_keyset_middle_ms']} ms, OFFSET {f['raw_offset_middle_ms']} ms "
          f"(filled in {f['fill_seconds']} s)")


def main(args: list[str]) -> dict:
    import os

    os.environ.setdefault("CADENA_LOG_LEVEL", "WARNING")  # access logs to a terminal would dominate the figure
    from shared.observability import configure_logging

    configure_logging("bench")
    parser = argparse.ArgumentParser(prog="cadena bench listing")
    parser.add_argument("--rows", type=int, default=1_000_000, help="contacts in the table (default 1,000,000)")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--page", type=int, default=None, help="the deep page (default: min(10,000, rows/limit))")
    parser.add_argument("--repeat", type=int, default=25)
    opts, _ = parser.parse_known_args(args)
    from tests.support.servers import start as start_servers

    servers = start_servers()
    try:
        figures = bench_listing(servers, opts.rows, opts.limit, opts.page, opts.repeat)
    finally:
        servers.stop()
    report(figures)
    from bench.runner import save

    print(f"report: {save('listing', figures)}")
    return figures
