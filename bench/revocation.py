"""What the revocation check (shared/revocation.py) costs a request: a
service reading one account, in process (the Flask test client, so only the
server's own work is timed), with the check off, on with its 1 s cache (what
runs), and on with no cache (one replica read per request). Printed as ms
per request and as the difference against the check off."""
from __future__ import annotations

import argparse
import time
import uuid

from shared import config
from shared.db import utcnow
from shared.migrations import upgrade
from shared.revocation import NoRevocation, ReplicaRevocation
from tests.support import auth
from tests.support.servers import start as start_servers


def _per_request_ms(client, path: str, headers: dict, requests: int) -> float:
    for _ in range(50):  # warm caches and the pool
        client.get(path, headers=headers)
    started = time.perf_counter()
    for _ in range(requests):
        assert client.get(path, headers=headers).status_code == 200
    return (time.perf_counter() - started) * 1000 / requests


def bench_revocation(servers, requests: int) -> dict:
    from services.accounts.app import create_app

    url = servers.new_database("cadena_bench")
    try:
        upgrade("accounts", url)
        settings = config.load("accounts", database_url=url, amqp_url=servers.amqp_url)
        app = create_app(settings, verifier=auth.verifier())
        db = app.extensions["cadena"].db
        user_id = str(uuid.uuid4())
        with db.engine.begin() as conn:
            conn.execute(db.tables.users.insert().values(id=user_id, email="r@x.es", name="R", role="rep",
                                                         active=1, token_generation=0,
                                                         updated_at=utcnow()))
        headers = {"Authorization": f"Bearer {auth.token('rep', user_id, ttl=3600)}"}
        client = app.test_client()
        account = client.post("/api/v1/accounts", json={"name": "Bench S.L."}, headers=headers).get_json()
        path = f"/api/v1/accounts/{account['id']}"
        figures = {}
        for label, check in (("off", NoRevocation()), ("cached_1s", ReplicaRevocation(db, 1.0)),
                             ("uncached", ReplicaRevocation(db, 0.0))):
            app.extensions["cadena"].revocation = check
            figures[label] = round(_per_request_ms(client, path, headers, requests), 3)
        db.dispose()
    finally:
        servers.drop_database(url)
    return {"ms_per_request": figures,
            "extra_ms_cached": round(figures["cached_1s"] - figures["off"], 3),
            "extra_ms_uncached": round(figures["uncached"] - figures["off"], 3)}


def main(args: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="cadena bench revocation")
    parser.add_argument("--requests", type=int, default=2000)
    opts, _ = parser.parse_known_args(args)
    servers = start_servers()
    try:
        figures = bench_revocation(servers, opts.requests)
    finally:
        servers.stop()
    ms = figures["ms_per_request"]
    print(f"revocation check: read one account {ms['off']} ms/request with the check off, {ms['cached_1s']} with "
          f"it on (1 s cache, as run) → +{figures['extra_ms_cached']} ms; {ms['uncached']} uncached → "
          f"+{figures['extra_ms_uncached']} ms")
    from bench.runner import save

    print(f"report: {save('revocation', figures)}")
    return figures
