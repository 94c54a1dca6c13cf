"""Idempotency-Key kept in the owning service's transaction, on the real
Postgres: a repeat gets the first answer, a concurrent repeat waits for it,
and the write and its recorded answer commit together or not at all."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from services.accounts import service
from tests.support.auth import headers

ADMIN = headers("admin")


@pytest.fixture
def accounts(build):
    return build("accounts", http_timeout=3)  # a repeat waits at most 2 s for the first


def _count(built, table, *where) -> int:
    with built.db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def _post(built, body, key, results=None):
    reply = built.client.post("/api/v1/contacts", json=body, headers={**ADMIN, "Idempotency-Key": key})
    if results is not None:
        results.append(reply)
    return reply


def test_a_repeat_gets_the_first_answer_and_creates_nothing(accounts):
    first = _post(accounts, {"first_name": "Ana", "email": "ana@bodegas.es"}, "k1")
    again = _post(accounts, {"first_name": "Ana", "email": "ana@bodegas.es"}, "k1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(accounts, accounts.db.tables.outbox) == 1
    other = _post(accounts, {"first_name": "Otra", "email": "otra@bodegas.es"}, "k1")
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]


def test_a_failed_request_frees_its_key(accounts):
    assert _post(accounts, {"first_name": "Ana", "email": "not-an-email"}, "k2").status_code == 422
    assert _post(accounts, {"first_name": "Ana", "email": "ana@bodegas.es"}, "k2").status_code == 201


def test_a_concurrent_repeat_waits_for_the_first_and_replays_it(accounts, monkeypatch):
    real = service.create_contact

    def slow(*args, **kwargs):
        contact = real(*args, **kwargs)
        time.sleep(1.0)  # the first is still running when the repeat arrives
        return contact

    monkeypatch.setattr(service, "create_contact", slow)
    results: list = []
    first = threading.Thread(target=_post, args=(accounts, {"first_name": "Luis", "email": "luis@x.es"}, "k3", results))
    first.start()
    time.sleep(0.3)
    second = _post(accounts, {"first_name": "Luis", "email": "luis@x.es"}, "k3")
    first.join()
    assert results[0].status_code == 201 and second.status_code == 201
    assert second.get_json()["id"] == results[0].get_json()["id"]
    assert _count(accounts, accounts.db.tables.outbox) == 1


def test_a_repeat_that_waits_too_long_gets_409_then_the_answer(accounts, monkeypatch):
    real = service.create_contact

    def very_slow(*args, **kwargs):
        contact = real(*args, **kwargs)
        time.sleep(3.0)  # longer than the 2 s a repeat waits
        return contact

    monkeypatch.setattr(service, "create_contact", very_slow)
    results: list = []
    first = threading.Thread(target=_post, args=(accounts, {"first_name": "Eva", "email": "eva@x.es"}, "k4", results))
    first.start()
    time.sleep(0.3)
    early = _post(accounts, {"first_name": "Eva", "email": "eva@x.es"}, "k4")
    assert early.status_code == 409 and early.headers["Retry-After"]
    assert early.get_json()["type"].endswith("idempotency-in-progress")
    first.join()
    late = _post(accounts, {"first_name": "Eva", "email": "eva@x.es"}, "k4")
    assert late.status_code == 201 and late.get_json()["id"] == results[0].get_json()["id"]


def test_the_write_and_its_answer_commit_together_or_not_at_all(accounts, monkeypatch):
    from shared import idempotency

    def database_gone(uow, response):
        raise OperationalError("UPDATE idempotency_keys", {}, Exception("connection lost"))

    monkeypatch.setattr(idempotency, "_record", database_gone)
    reply = _post(accounts, {"first_name": "Pilar", "email": "pilar@x.es"}, "k5")
    assert reply.status_code == 503 and "same Idempotency-Key" in reply.get_json()["detail"]
    contacts = accounts.db.metadata.tables["contacts"]
    assert _count(accounts, contacts, contacts.c.email == "pilar@x.es") == 0
    assert _count(accounts, accounts.db.tables.outbox) == 0
    monkeypatch.undo()
    again = _post(accounts, {"first_name": "Pilar", "email": "pilar@x.es"}, "k5")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _count(accounts, contacts, contacts.c.email == "pilar@x.es") == 1


def test_commands_are_idempotent_too(build):
    opportunities = build("opportunities", http_timeout=3, gateway_url="http://127.0.0.1:9")
    account_id = "6f1c1f4e-6a4e-4b7e-9a57-9c6a3d1b2c01"
    with opportunities.db.transaction() as uow:  # the account replica, as its event would have left it
        from services.opportunities.replica import upsert_account

        upsert_account(uow.session, {"id": account_id, "name": "Bodegas", "country": "ES"})
    opp = opportunities.client.post("/api/v1/opportunities", json={
        "name": "Barricas", "account_id": account_id, "amount": {"amount": "1000.00", "currency": "EUR"}},
        headers=ADMIN)
    assert opp.status_code == 201, opp.get_json()
    win = f"/api/v1/opportunities/{opp.get_json()['id']}/win"
    first = opportunities.client.post(win, json={}, headers={**ADMIN, "Idempotency-Key": "win-1"})
    again = opportunities.client.post(win, json={}, headers={**ADMIN, "Idempotency-Key": "win-1"})
    assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    outbox = opportunities.db.tables.outbox
    assert _count(opportunities, outbox, outbox.c.routing_key == "opportunities.opportunity.won") == 1
