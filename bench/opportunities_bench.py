"""Pipeline and forecast request time as the deal table grows.

For each size (10k and 100k deals by default) a fresh Postgres database is
filled directly with SQLAlchemy Core (deals spread over stages, currencies,
owners in teams and two years of close dates), then

- GET /api/v1/pipeline, GET /api/v1/pipeline?team=…, GET /api/v1/forecast?period=…&team=…
  are timed through the opportunities app (Flask test client: routing, auth,
  validation, SQL, serialisation), and
- the same figures computed the naive way — one GROUP BY over every deal
  row, raw SQL, no HTTP — as the baseline measured in the same run.

The service answers from the pipeline_totals buckets (one row per owner,
currency, close month, stage and forecast category, kept in each deal's own
transaction), so its cost follows the number of buckets, not of deals. The
bulk load builds them with totals.rebuild(), as an import would.

It prints ms/request (median) for each, the ratio ours/raw, and the growth
from the smallest to the largest size. It reports; it never fails on a slow
machine.

    cadena bench opportunities [--sizes 10000,100000] [--requests 30]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from datetime import date, timedelta, timezone, datetime
from decimal import Decimal

from sqlalchemy import insert, text

from shared import config
from shared.db import utcnow
from shared.migrations import upgrade
from tests.support import auth
from tests.support.servers import LOCAL_PG, Servers

STAGES = ["prospecting"] * 30 + ["qualification"] * 20 + ["proposal"] * 15 + ["negotiation"] * 10 + \
         ["closed_won"] * 15 + ["closed_lost"] * 10
DEFAULTS = {"prospecting": (10, "pipeline"), "qualification": (25, "pipeline"), "proposal": (50, "best_case"),
            "negotiation": (75, "commit"), "closed_won": (100, "closed"), "closed_lost": (0, "omitted")}
TEAMS = ["Iberia", "LatAm", "Norte", "Levante", "Andes"]


def fill(db, n: int, rng: random.Random, chunk: int = 5000) -> list[str]:
    """n deals and 50 users (10 per team), inserted in bulk; returns the user ids."""
    from services.opportunities import totals
    from services.opportunities.models import AccountReplica, Opportunity

    users = [{"id": str(uuid.uuid4()), "email": f"u{i}@bench.es", "name": f"User {i}", "role": "rep",
              "team": TEAMS[i % len(TEAMS)], "manager_id": None, "active": 1, "updated_at": utcnow()}
             for i in range(50)]
    accounts = [{"id": str(uuid.uuid4()), "name": f"Cuenta {i}", "source_version": 1, "deleted": False,
                 "updated_at": utcnow()} for i in range(500)]
    today = datetime.now(timezone.utc).date()
    start = today - timedelta(days=365)
    with db.engine.begin() as conn:
        conn.execute(insert(db.tables.users), users)
        conn.execute(insert(AccountReplica), accounts)
        for offset in range(0, n, chunk):
            rows = []
            for _ in range(min(chunk, n - offset)):
                stage = rng.choice(STAGES)
                probability, category = DEFAULTS[stage]
                now = utcnow()
                rows.append({
                    "id": str(uuid.uuid4()), "version": 1, "created_at": now, "updated_at": now,
                    "name": "Bench deal", "account_id": rng.choice(accounts)["id"],
                    "amount": Decimal(rng.randint(100, 5_000_000)) / 100,
                    "currency": "EUR" if rng.random() < 0.8 else "USD",
                    "close_date": start + timedelta(days=rng.randint(0, 730)), "stage": stage,
                    "probability": probability, "forecast_category": category,
                    "owner_id": rng.choice(users)["id"],
                })
            conn.execute(insert(Opportunity), rows)
    with db.sessions() as session:
        totals.rebuild(session)
        session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return [u["id"] for u in users]


def _median_ms(fn, requests: int) -> float:
    fn()  # warm up (plans, pools, caches)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


RAW_PIPELINE = text("""
    SELECT stage, count(*), sum(round(amount * 100)::bigint), sum(round(amount * 100)::bigint * probability)
    FROM opportunities
    WHERE deleted_at IS NULL AND currency = 'EUR'
      AND stage IN ('prospecting', 'qualification', 'proposal', 'negotiation') {scope}
    GROUP BY stage""")
RAW_FORECAST = text("""
    SELECT sum(CASE WHEN stage = 'closed_won' THEN round(amount * 100)::bigint ELSE 0 END),
           sum(CASE WHEN stage <> 'closed_won' AND stage <> 'closed_lost' AND forecast_category = 'commit'
                    THEN round(amount * 100)::bigint ELSE 0 END),
           sum(CASE WHEN stage <> 'closed_won' AND stage <> 'closed_lost' AND forecast_category <> 'omitted'
                    THEN round(amount * 100)::bigint * probability ELSE 0 END)
    FROM opportunities
    WHERE deleted_at IS NULL AND currency = 'EUR' AND close_date BETWEEN :start AND :end
      AND owner_id IN (SELECT id FROM user_replica WHERE team = :team)""")


def measure(servers: Servers, n: int, requests: int, seed: int = 7) -> dict:
    url = servers.new_database("cadena_bench_opps")
    try:
        upgrade("opportunities", url)
        from services.opportunities import rules
        from services.opportunities.app import create_app

        os.environ.setdefault("CADENA_LOG_LEVEL", "WARNING")
        app = create_app(config.load("opportunities", database_url=url, gateway_url="http://127.0.0.1:1"),
                         verifier=auth.verifier())
        db = app.extensions["cadena"].db
        started = time.perf_counter()
        fill(db, n, random.Random(seed))
        fill_s = time.perf_counter() - started
        client, headers = app.test_client(), auth.headers("readonly")
        period = rules.quarter_of(date.today())
        start, end = rules.parse_period(period)

        def get(path):
            def call():
                reply = client.get(path, headers=headers)
                assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
            return call

        def raw(statement, **params):
            def call():
                with db.engine.connect() as conn:
                    conn.execute(statement, params).all()
            return call

        # ?currency=EUR: the one-currency answer, the same work as the raw SQL baseline (EUR deals only).
        figures = {
            "pipeline": (get("/api/v1/pipeline?currency=EUR"), raw(text(RAW_PIPELINE.text.format(scope="")))),
            "pipeline_team": (get("/api/v1/pipeline?team=Iberia&currency=EUR"), raw(text(RAW_PIPELINE.text.format(
                scope="AND owner_id IN (SELECT id FROM user_replica WHERE team = 'Iberia')")))),
            "forecast_team": (get(f"/api/v1/forecast?period={period}&team=Iberia&currency=EUR"),
                              raw(RAW_FORECAST, start=start, end=end, team="Iberia")),
        }
        out = {"deals": n, "fill_seconds": round(fill_s, 1),
               # what any request costs here without SQL: test client, auth (RS256), routing, JSON
               "no_sql_request_ms": round(_median_ms(get("/api/v1/pipeline/stages"), requests), 2)}
        for name, (ours, baseline) in figures.items():
            ours_ms, raw_ms = _median_ms(ours, requests), _median_ms(baseline, requests)
            out[name] = {"ms_per_request": round(ours_ms, 2), "raw_sql_over_deals_ms": round(raw_ms, 2),
                         "ratio_ours_to_raw": round(ours_ms / raw_ms, 2) if raw_ms else None}
        db.dispose()
        return out
    finally:
        servers.drop_database(url)


def run(sizes: list[int], requests: int, pg_url: str | None = None) -> dict:
    servers = Servers(pg_url or os.environ.get("CADENA_TEST_PG_URL", LOCAL_PG), "")
    results = [measure(servers, n, requests) for n in sizes]
    report = {"sizes": sizes, "requests": requests, "results": results}
    if len(results) > 1:
        small, large = results[0], results[-1]
        report["growth"] = {name: round(large[name]["ms_per_request"] / small[name]["ms_per_request"], 2)
                            for name in ("pipeline", "pipeline_team", "forecast_team")}
        report["rows_growth"] = round(large["deals"] / small["deals"], 1)
    return report


def main(args: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="cadena bench opportunities")
    parser.add_argument("--sizes", default="10000,100000", help="deal counts, comma separated")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per figure (median)")
    parser.add_argument("--pg-url", default=None, help="admin URL of a Postgres to create scratch databases in")
    opts, _ = parser.parse_known_args(args)
    sizes = [int(s) for s in opts.sizes.split(",") if s.strip()]
    report = run(sizes, opts.requests, opts.pg_url)
    for result in report["results"]:
        print(f"{result['deals']:>7} deals (filled in {result['fill_seconds']} s; a request without SQL takes "
              f"{result['no_sql_request_ms']} ms):")
        for name in ("pipeline", "pipeline_team", "forecast_team"):
            f = result[name]
            print(f"    {name:<14} {f['ms_per_request']:>8.2f} ms/request   raw GROUP BY over deals {f['raw_sql_over_deals_ms']:>8.2f} ms   "
                  f"ratio {f['ratio_ours_to_raw']}")
    if "growth" in report:
        growth = ", ".join(f"{k} ×{v}" for k, v in report["growth"].items())
        print(f"growth {report['sizes'][0]} → {report['sizes'][-1]} deals (×{report['rows_growth']} rows): {growth}")
    from bench.runner import save

    print(f"report: {save('opportunities', report)}")
    return report


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
