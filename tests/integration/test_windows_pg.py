"""A window of events has the effect of the same events handled one at a
time (shared/inbox.py): on the real Postgres (and the gateway on SQLite too, as `cadena up` runs it), every consumer of accounts'
events is fed the same stream twice — once an event per transaction, once in
windows where runs of one handler go in one statement — and ends with the
same rows. The stream is what the accounts service really published, with
late, repeated and out-of-order deliveries mixed in."""
from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import MetaData, select

from shared import inbox
from shared.contracts import catalogue
from tests.support.auth import headers

ADMIN = headers("admin")
NOWHERE = "http://127.0.0.1:9"
CONSUMERS = ("opportunities", "support", "activities", "campaigns", "gateway")
# Columns stamped with the time of handling, not taken from the events.
STAMPS = {"updated_at", "received_at"}
# Tables no event writes (the gateway's administrator is made with a new id each time).
SKIPPED = {"inbox", "outbox", "alembic_version", "users"}


def _post(accounts, path: str, body: dict) -> dict:
    reply = accounts.client.post(path, json=body, headers=ADMIN)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def _change(accounts, path: str, body: dict) -> None:
    current = accounts.client.get(path, headers=ADMIN)
    reply = accounts.client.patch(path, json=body, headers={**ADMIN, "If-Match": current.headers["ETag"]})
    assert reply.status_code == 200, reply.get_json()


def published(accounts) -> list[tuple[str, bytes]]:
    """Accounts, contacts, changes, stages and deletions, as accounts wrote them to its outbox."""
    tag = uuid.uuid4().hex[:6]
    accounts_made = [_post(accounts, "/api/v1/accounts", {"name": f"Bodegas {tag} {n}", "country": "ES"})["id"]
                     for n in range(3)]
    contacts = [_post(accounts, "/api/v1/contacts", {
        "first_name": f"Ana{n}", "last_name": "García", "email": f"ana.{n}.{tag}@bodegas.es",
        "phone": f"+34 600 1{n:02d} 000", "account_id": accounts_made[n % 3], "interests": ["vino"],
        "lifecycle_stage": ("prospect", "potential_customer")[n % 2]})["id"]
        for n in range(12)]
    for n, contact in enumerate(contacts[:6]):
        _change(accounts, f"/api/v1/contacts/{contact}", {"title": f"Compras {n}", "lifecycle_stage": "active_customer"})
    _change(accounts, f"/api/v1/contacts/{contacts[0]}", {"last_name": "López"})
    _change(accounts, f"/api/v1/accounts/{accounts_made[0]}", {"name": f"Bodegas {tag} renamed"})
    assert accounts.client.delete(f"/api/v1/contacts/{contacts[11]}", headers=ADMIN).status_code == 204
    outbox = accounts.db.tables.outbox
    with accounts.db.sessions() as session:
        rows = session.execute(select(outbox.c.routing_key, outbox.c.body).order_by(outbox.c.id)).all()
    return [(key, bytes(body)) for key, body in rows]


def stream(events: list[tuple[str, bytes]], seed: int) -> list[tuple[str, bytes]]:
    """The deliveries a consumer could see: some repeated, some late."""
    rng = random.Random(seed)
    deliveries = list(events)
    deliveries += rng.sample(events, len(events) // 4)  # redeliveries
    for _ in range(len(deliveries) // 3):  # neighbours swapped: a later version may come first
        i = rng.randrange(len(deliveries) - 1)
        deliveries[i], deliveries[i + 1] = deliveries[i + 1], deliveries[i]
    return deliveries


def snapshot(db) -> dict[str, list]:
    meta = MetaData()
    meta.reflect(db.engine)
    found = {}
    with db.engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            if name in SKIPPED or name.startswith("search_fts_"):  # SQLite FTS5's own storage: laid out as it went
                continue
            columns = [c for c in table.columns if c.name not in STAMPS]
            found[name] = sorted(tuple(str(v) for v in row) for row in conn.execute(select(*columns)))
    return found


@pytest.mark.parametrize("component,backend", [*((c, "postgres") for c in CONSUMERS), ("gateway", "sqlite")])
def test_windows_have_the_effect_of_one_event_at_a_time(build, component, backend):
    accounts = build("accounts", gateway_url=NOWHERE)
    events = published(accounts)
    single, windowed = (build(component, backend, file=name, gateway_url=NOWHERE) for name in ("single", "windowed"))
    handlers = _handlers(component)
    known = catalogue()
    bound = [(key, body) for key, body in events if inbox.find_handler(handlers, key)]  # what its queue gets
    for seed in (1, 2):
        deliveries = stream(bound, seed)
        for routing_key, body in deliveries:
            assert inbox.handle(single.db, "q", handlers, routing_key, body, known) == inbox.ACK
        rng = random.Random(seed)
        start = 0
        while start < len(deliveries):
            size = rng.choice((2, 5, 17, 60))
            outcomes = inbox.handle_batch(windowed.db, "q", handlers, deliveries[start:start + size], known)
            assert set(outcomes) == {inbox.ACK}
            start += size
    before, after = snapshot(single.db), snapshot(windowed.db)
    assert before == after
    assert any(rows for rows in after.values()), "the stream changed nothing: the test proves nothing"


def test_a_run_goes_in_one_call_to_the_many_form(build):
    """The grouping is real: a window of contact events reaches the many form once."""
    accounts = build("accounts", gateway_url=NOWHERE)
    support = build("support", gateway_url=NOWHERE)
    created = [(k, b) for k, b in published(accounts) if k == "accounts.contact.created"]
    handlers = dict(_handlers("support"))
    calls = []
    single = handlers["accounts.contact.created"]

    @inbox.in_runs(lambda events, uow: (calls.append(len(events)), single.many(events, uow)))
    def counted(event, uow):
        calls.append(1)
        single(event, uow)

    handlers["accounts.contact.created"] = counted
    assert set(inbox.handle_batch(support.db, "q", handlers, created, catalogue())) == {inbox.ACK}
    assert calls == [len(created)]


def _handlers(component: str) -> dict:
    if component == "gateway":
        from gateway.app import HANDLERS
    else:
        HANDLERS = __import__(f"services.{component}.handlers", fromlist=["HANDLERS"]).HANDLERS
    return HANDLERS
