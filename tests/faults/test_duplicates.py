"""Every message delivered twice: real events, made by the real services
through their own APIs, are published once, then all of them again with the
same ids. The second pass must change nothing anywhere we can count: every
row of every table of the consuming service (view totals, lifecycle events in
the outbox, replica rows, handover reports) is the same after it."""
from __future__ import annotations

import importlib
import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select

from shared.inbox import ACK, find_handler, handle
from shared.migrations import upgrade
from tests.faults.helpers import (ADMIN, ADMIN_ID, count, event, fresh_queue, handled, outbox_by_key,
                                  outbox_messages, present, publish, queue_depth, standalone)
from tests.support.wait import until

TARGETS = present(["accounts", "opportunities", "activities", "campaigns", "support"])
NEW_OWNER = str(uuid.uuid4())


@dataclass
class World:
    accounts: object
    account_id: str
    contact_ids: list[str]
    messages: list[tuple[str, bytes]]
    handover_id: str


def _seed(built, messages) -> None:
    """Hand a service the accounts events it needs, the way its consumer would."""
    handlers = importlib.import_module(f"services.{built.component}.handlers").HANDLERS
    for routing_key, body in messages:
        assert handle(built.db, "seed", handlers, routing_key, body) == ACK


def _post(built, path, body) -> dict:
    reply = built.client.post(path, json=body, headers=ADMIN)
    assert reply.status_code in (200, 201), (path, reply.status_code, reply.get_json())
    return reply.get_json()


@pytest.fixture(scope="module")
def world(servers, fault_amqp_url):
    """One customer's history made by every service of this build."""
    made = []

    def make(component):
        url = servers.new_database()
        upgrade(component, url)
        built = standalone(component, url, fault_amqp_url)
        made.append((built, url))
        return built

    try:
        accounts = make("accounts")
        account = _post(accounts, "/api/v1/accounts", {
            "name": "Dobles Entregas S.A.", "country": "ES", "industry": "Wine",
            "annual_revenue": {"amount": "5000000.00", "currency": "EUR"}})
        contacts = [_post(accounts, "/api/v1/contacts", {
            "first_name": name, "last_name": "Doble", "account_id": account["id"],
            "email": f"{name.lower()}.{uuid.uuid4().hex[:6]}@dobles.example"})["id"] for name in ("Ana", "Luis")]
        reply = accounts.client.patch(f"/api/v1/accounts/{account['id']}", json={"employees": 40}, headers=ADMIN)
        assert reply.status_code == 200, reply.get_json()
        account_events = outbox_messages(accounts.db)
        messages = list(account_events)
        if "opportunities" in TARGETS:
            opps = make("opportunities")
            _seed(opps, account_events)
            _post(opps, "/api/v1/opportunities", {"name": "Abierta", "account_id": account["id"],
                                                   "amount": {"amount": "1000.00", "currency": "EUR"}})
            won = _post(opps, "/api/v1/opportunities", {"name": "Ganada", "account_id": account["id"],
                                                         "primary_contact_id": contacts[0],
                                                         "amount": {"amount": "2500.00", "currency": "EUR"}})
            _post(opps, f"/api/v1/opportunities/{won['id']}/win", {"reason": "Precio"})
            messages += outbox_messages(opps.db)
        if "support" in TARGETS:
            support = make("support")
            _seed(support, account_events)
            _post(support, "/api/v1/cases", {"subject": "No llega el pedido", "priority": "high",
                                              "account_id": account["id"], "contact_id": contacts[1]})
            messages += outbox_messages(support.db)
        if "activities" in TARGETS:
            activities = make("activities")
            _seed(activities, account_events)
            _post(activities, "/api/v1/activities", {"type": "meeting", "subject": "Cata",
                                                      "starts_at": "2026-01-15T10:00:00+00:00",
                                                      "account_id": account["id"], "contact_id": contacts[0]})
            messages += outbox_messages(activities.db)
        handover_id = str(uuid.uuid4())
        user = {"id": NEW_OWNER, "email": f"nueva.{NEW_OWNER[:6]}@cadena.example", "name": "Nueva Comercial",
                "role": "rep", "team": "Norte", "manager_id": None, "active": True}
        messages += [event("identity.user.created", user, NEW_OWNER, "gateway"),
                     event("identity.user.updated", {**user, "team": "Sur"}, NEW_OWNER, "gateway"),
                     event("identity.user.handover_requested", {"handover_id": handover_id, "from_user_id": ADMIN_ID,
                                                                "to_user_id": NEW_OWNER}, ADMIN_ID, "gateway")]
        yield World(accounts, account["id"], contacts, messages, handover_id)
    finally:
        for built, url in made:
            built.db.dispose()
            servers.drop_database(url)


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table but the inbox (which the duplicates must not grow either; counted apart)."""
    tables = {}
    with db.sessions() as session:
        for table in db.metadata.sorted_tables:
            if table.name == "inbox":
                continue
            columns = [c for c in table.columns if c.name != "published_at"]
            tables[table.name] = sorted((tuple(map(repr, row)) for row in session.execute(select(*columns))))
    return tables


def without(rows: dict[str, list[tuple]], marker: str) -> dict[str, list[tuple]]:
    return {name: [r for r in table if not any(marker in v for v in r)] for name, table in rows.items()}


def sentinel() -> tuple[str, tuple[str, bytes]]:
    """A fresh event every service handles, published after a pass: one
    consumer takes a queue in order, so once it is handled the pass is too."""
    user_id = str(uuid.uuid4())
    user = {"id": user_id, "email": f"s.{user_id[:8]}@cadena.example", "name": "Centinela", "role": "readonly",
            "team": None, "manager_id": None, "active": True}
    return user_id, event("identity.user.created", user, user_id, "gateway")


@pytest.mark.parametrize("service", [pytest.param(s, marks=() if s == "accounts" else pytest.mark.slow)
                                     for s in TARGETS])
def test_every_event_delivered_twice_has_exactly_one_effect(service, world, fault_build, fault_amqp_url):
    target = world.accounts if service == "accounts" else fault_build(service)
    worker = target.worker()
    worker.purpose = f"twice-{uuid.uuid4().hex[:8]}"  # a queue of its own: no leftovers, no competitors
    queue = fresh_queue(fault_amqp_url, worker.queue)
    consumer = worker.consumer()  # the consumer alone: no relay or jobs changing rows between snapshots
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    db = target.db
    handled_kinds = [key for key, _ in world.messages if find_handler(worker.handlers, key)]
    assert "identity.user.handover_requested" in handled_kinds
    try:
        first_marker, first = sentinel()
        publish(fault_amqp_url, world.messages + [first])
        until(lambda: handled(db, queue.name) == len(handled_kinds) + 1, timeout=20)
        before = without(snapshot(db), first_marker)

        second_marker, second = sentinel()
        publish(fault_amqp_url, world.messages + [second])  # every event again, same ids
        until(lambda: handled(db, queue.name) == len(handled_kinds) + 2, timeout=20)
        until(lambda: queue_depth(fault_amqp_url, queue.name) == 0, timeout=10)
        after = without(without(snapshot(db), first_marker), second_marker)

        assert queue_depth(fault_amqp_url, queue.dlq) == 0, "a real event was dead-lettered"
        changed = {name for name in before if before[name] != after[name]}
        assert not changed, f"a duplicate changed {sorted(changed)}"
        assert outbox_by_key(db, f"{service}.handover.completed") == {world.handover_id: 1}
        if service == "accounts":
            _expect_account_effects(world, db)
    finally:
        worker.stop.set()
        thread.join(timeout=10)
        _delete_queue(fault_amqp_url, queue)


def _expect_account_effects(world: World, db) -> None:
    """The first pass did what one delivery should (so 'nothing changed' means something)."""
    from services.accounts.models import AccountView, Contact

    with db.sessions() as session:
        view = session.get(AccountView, world.account_id)
        contacts = [session.get(Contact, c) for c in world.contact_ids]
    lifecycle = outbox_by_key(db, "accounts.contact.lifecycle_changed")
    if "opportunities" in TARGETS:
        assert view.open_pipeline == Decimal("1000.00") and view.won_total == Decimal("2500.00")
        assert view.won_deals == 1
        assert [c.lifecycle_stage for c in contacts] == ["active_customer", "active_customer"]
        # prospect → potential_customer (the open deal) → active_customer (the win): two per contact
        assert lifecycle == {c: 2 for c in world.contact_ids}
    if "support" in TARGETS:
        assert view.open_cases == 1
    if "activities" in TARGETS:
        assert view.last_activity_at is not None
    assert count(db, db.tables.users, db.tables.users.c.id == NEW_OWNER) == 1


def _delete_queue(amqp_url: str, queue) -> None:
    import pika

    from shared.bus import parameters

    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        channel = conn.channel()
        channel.queue_delete(queue.name)
        channel.queue_delete(queue.dlq)
    finally:
        conn.close()
