"""The bulk path of imports on the real Postgres: batches, ON CONFLICT,
match, the outbox rows of every applied row, resuming after a crash, undo."""
from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from shared import imports as import_jobs
from shared.db import utcnow
from tests.support.auth import headers

ADMIN_ID = str(uuid.uuid4())
ADMIN = headers("admin", ADMIN_ID)


@pytest.fixture
def accounts(build):
    return build("accounts")


def contacts_csv(n: int, start: int = 0) -> str:
    lines = ["first_name,last_name,email,phone,interests"]
    lines += [f"Ana{i},García,ana{i}@bench.example,+34 600 {i:06d},vino;queso" for i in range(start, start + n)]
    return "\n".join(lines) + "\n"


def start(built, body: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"kind": "contacts", **params}.items())
    reply = built.client.post(f"/api/v1/imports?{query}", data=body.encode(),
                              headers={**ADMIN, "Content-Type": "text/csv"})
    assert reply.status_code == 202, reply.get_json()
    return reply.get_json()["import_id"]


def run(built, batch: int = 500) -> None:
    from services.accounts.imports import REGISTRY

    import_jobs.run_pending(built.db, REGISTRY.tables, REGISTRY.kinds, "EUR", batch=batch)


def status(built, import_id: str) -> dict:
    return built.client.get(f"/api/v1/imports/{import_id}", headers=ADMIN).get_json()


def counts(built) -> tuple[int, int]:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        contacts = session.scalar(select(func.count()).select_from(built.db.metadata.tables["contacts"])
                                  .where(built.db.metadata.tables["contacts"].c.deleted_at.is_(None)))
        events = session.scalar(select(func.count()).select_from(outbox)
                                .where(outbox.c.routing_key == "accounts.contact.created"))
    return contacts, events


def test_a_large_file_lands_in_batches_with_one_event_per_row(accounts):
    import_id = start(accounts, contacts_csv(2_000))
    began = time.perf_counter()
    run(accounts)
    elapsed = time.perf_counter() - began
    job = status(accounts, import_id)
    assert (job["status"], job["total"], job["created"], job["failed"]) == ("done", 2_000, 2_000, 0)
    assert counts(accounts) == (2_000, 2_000)
    outbox = accounts.db.tables.outbox
    with accounts.db.sessions() as session:
        body = json.loads(session.scalar(select(outbox.c.body).limit(1)))
    assert body["type"] == "accounts.contact.created" and body["correlationid"] == import_id
    assert body["data"]["interests"] == ["vino", "queso"] and body["data"]["owner_id"] == ADMIN_ID
    print(f"\n2,000 contacts through the bulk path in {elapsed:.2f} s ({2_000 / elapsed:.0f} rows/s)")


def test_match_updates_live_contacts_and_a_clash_is_a_row_error(accounts):
    start(accounts, contacts_csv(10))
    run(accounts)
    body = "email,title\nana3@bench.example,CEO\nANA4@BENCH.EXAMPLE,CTO\nnew@bench.example,CFO\n"
    import_id = start(accounts, body, match="email")
    run(accounts)
    job = status(accounts, import_id)
    assert (job["created"], job["updated"], job["failed"]) == (1, 2, 0)
    assert counts(accounts)[0] == 11
    clash = start(accounts, "email\nana5@bench.example\n")  # no match: the live address is taken
    run(accounts)
    assert status(accounts, clash)["errors"][0]["errors"]["email"][0].startswith("Already used by contact ")


def test_an_address_taken_after_the_batch_was_checked_is_a_row_error_and_the_rest_lands(accounts, monkeypatch):
    """The batch's COPY is refused by the unique index; its savepoint goes
    back and the rows go again one by one, skipping the taken one."""
    from services.accounts.imports import ContactKind

    start(accounts, "email\nana3@bench.example\n")
    run(accounts)
    monkeypatch.setattr(ContactKind, "_unique", lambda *args: None)  # as if another writer came in between
    import_id = start(accounts, contacts_csv(5))
    run(accounts)
    job = status(accounts, import_id)
    assert (job["status"], job["created"], job["failed"]) == ("done", 4, 1)
    assert job["errors"][0]["row"] == 5 and job["errors"][0]["errors"] == {"email": ["Already used by another record."]}
    assert counts(accounts) == (5, 5)


def test_a_crash_mid_import_leaves_whole_batches_and_the_rerun_does_not_duplicate(accounts, monkeypatch):
    import_id = start(accounts, contacts_csv(1_000))
    real = import_jobs._run_batch
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real(*args, **kwargs)

    monkeypatch.setattr(import_jobs, "_run_batch", crashing)
    with pytest.raises(OperationalError):
        run(accounts, batch=300)
    job = status(accounts, import_id)
    assert (job["status"], job["processed"], job["created"]) == ("running", 600, 600)
    assert counts(accounts) == (600, 600)
    monkeypatch.setattr(import_jobs, "_run_batch", real)
    run(accounts, batch=300)  # not stale yet: nobody takes it over
    assert status(accounts, import_id)["processed"] == 600
    imports = accounts.db.metadata.tables["imports"]
    with accounts.db.transaction() as uow:
        uow.session.execute(update(imports).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
    run(accounts, batch=300)
    job = status(accounts, import_id)
    assert (job["status"], job["processed"], job["created"], job["failed"]) == ("done", 1_000, 1_000, 0)
    assert counts(accounts) == (1_000, 1_000)


def test_undo_deletes_what_was_created_and_only_within_a_day(accounts):
    import_id = start(accounts, contacts_csv(700))
    run(accounts)
    assert accounts.client.delete(f"/api/v1/imports/{import_id}", headers=ADMIN).status_code == 204
    assert counts(accounts)[0] == 0
    outbox = accounts.db.tables.outbox
    with accounts.db.sessions() as session:
        deleted = session.scalar(select(func.count()).where(outbox.c.routing_key == "accounts.contact.deleted"))
    assert deleted == 700
    old = start(accounts, contacts_csv(1, start=900))
    run(accounts)
    imports = accounts.db.metadata.tables["imports"]
    with accounts.db.transaction() as uow:
        uow.session.execute(update(imports).where(imports.c.id == old).values(created_at=utcnow() - timedelta(hours=25)))
    reply = accounts.client.delete(f"/api/v1/imports/{old}", headers=ADMIN)
    assert reply.status_code == 409 and reply.get_json()["type"].endswith("/undo-window-closed")
    assert counts(accounts)[0] == 1
