"""What the fault tests share: the services present in this build and how to
create one record through each one's own HTTP API, publishing raw messages,
reading queues and tables, and running a worker as a real process."""
from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pika
from sqlalchemy import func, select

from shared import config
from shared.bus import QueueSpec, bind_queue, parameters
from shared.events import EXCHANGE, encode, new_event
from tests.support.auth import headers

NOWHERE = "http://127.0.0.1:1"  # no gateway or sibling service: lookups fail fast
ADMIN_ID = str(uuid.uuid4())
ADMIN = headers("admin", ADMIN_ID)


def isolate(built):
    """Point a built service's outgoing lookups nowhere (another engineer's
    `cadena up` on the default ports must never answer for a test)."""
    deps = built.app.extensions["cadena"]
    if hasattr(deps, "use_cases"):
        deps.use_cases.accounts = None
    if hasattr(deps, "links"):
        deps.links.urls = dict.fromkeys(deps.links.urls, NOWHERE)
    if hasattr(deps, "accounts"):
        deps.accounts.accounts_url = NOWHERE
    return built


@dataclass
class Standalone:
    """A service built in-process on a database made by the caller (e.g. one
    reached through a TcpProxy), for fixtures wider than one test."""

    component: str
    settings: object
    app: object
    db: object

    @property
    def client(self):
        return self.app.test_client()

    def worker(self):
        return importlib.import_module(f"services.{self.component}.app").create_worker(self.settings)


def standalone(component: str, database_url: str, amqp_url: str, **overrides) -> Standalone:
    from tests.support.auth import verifier

    overrides.setdefault("gateway_url", NOWHERE)
    settings = config.load(component, database_url=database_url, amqp_url=amqp_url, **overrides)
    app = importlib.import_module(f"services.{component}.app").create_app(settings, verifier=verifier())
    return isolate(Standalone(component, settings, app, app.extensions["cadena"].db))


def outbox_messages(db) -> list[tuple[str, bytes]]:
    """Every event a service committed, in commit order, as it would be published."""
    outbox = db.tables.outbox
    with db.sessions() as session:
        return [(r.routing_key, bytes(r.body)) for r in
                session.execute(select(outbox.c.routing_key, outbox.c.body).order_by(outbox.c.id))]


# -- one record per service, through its own API ------------------------------------

@dataclass(frozen=True)
class Writer:
    """How to create one record of a service over its own HTTP API."""

    service: str
    path: str
    created: str  # the routing key of the event the create publishes
    body: Callable[[int], dict]
    prepare: Callable[[object], dict] = lambda built: {}


def _seed_opportunity_account(built) -> dict:
    """Opportunities refuses a deal for an account it has never heard of:
    put one account into its replica the way the accounts event would."""
    from services.opportunities import replica

    account_id = str(uuid.uuid4())
    with built.db.transaction() as uow:
        replica.upsert_account(uow.session, {"id": account_id, "name": "Bodegas Fault S.L.", "tax_id": "B00000001",
                                             "country": "ES", "billing_address": None, "version": 1})
    return {"account_id": account_id}


def _soon(i: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=1, minutes=i)).isoformat()


WRITERS = {
    "accounts": Writer("accounts", "/api/v1/accounts", "accounts.account.created",
                       lambda i: {"name": f"Fault Account {i}"}),
    "support": Writer("support", "/api/v1/cases", "support.case.opened",
                      lambda i: {"subject": f"Fault case {i}", "priority": "normal"}),
    "opportunities": Writer("opportunities", "/api/v1/opportunities", "opportunities.opportunity.created",
                            lambda i: {"name": f"Fault deal {i}", "amount": {"amount": f"{100 + i}.00",
                                                                             "currency": "EUR"}},
                            _seed_opportunity_account),
    "activities": Writer("activities", "/api/v1/activities", "activities.activity.created",
                         lambda i: {"type": "call", "subject": f"Fault call {i}", "starts_at": _soon(i)}),
    "campaigns": Writer("campaigns", "/api/v1/campaigns", "campaigns.campaign.created",
                        lambda i: {"name": f"Fault campaign {i}", "channel": "email"}),
}


def present(names=WRITERS) -> list[str]:
    """The services of this build (a package with an app factory)."""
    return [n for n in names if importlib.util.find_spec(f"services.{n}.app") is not None]


def create(built, writer: Writer, i: int, extra: dict) -> dict:
    reply = built.client.post(writer.path, json={**writer.body(i), **extra}, headers=ADMIN)
    assert reply.status_code == 201, (writer.service, reply.status_code, reply.get_json())
    return reply.get_json()


# -- the broker ----------------------------------------------------------------------

def publish(amqp_url: str, messages, times: int = 1) -> None:
    """Publish (routing_key, body) pairs `times` times each, confirmed, as any producer would."""
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        for _ in range(times):
            for routing_key, body in messages:
                props = pika.BasicProperties(delivery_mode=2, content_type="application/cloudevents+json")
                channel.basic_publish(EXCHANGE, routing_key, body, props)
    finally:
        conn.close()


def event(routing_key: str, data: dict, subject: str | None = None, source: str = "faults") -> tuple[str, bytes]:
    """A real CloudEvent (the same envelope every service publishes)."""
    return routing_key, encode(new_event(source=source, type=routing_key, subject=subject, data=data))


def queue_depth(amqp_url: str, name: str) -> int:
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        return conn.channel().queue_declare(name, passive=True).method.message_count
    finally:
        if conn.is_open:
            conn.close()


def take_all(amqp_url: str, name: str) -> list[bytes]:
    conn = pika.BlockingConnection(parameters(amqp_url))
    bodies = []
    try:
        channel = conn.channel()
        while True:
            method, _props, body = channel.basic_get(name, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(body)
    finally:
        conn.close()


def fresh_queue(amqp_url: str, queue: QueueSpec) -> QueueSpec:
    """Declare a service queue the way its worker does, empty (and its DLQ)."""
    bind_queue(amqp_url, queue.name, queue.bindings, queue.delivery_limit)
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        channel = conn.channel()
        channel.queue_purge(queue.name)
        channel.queue_purge(queue.dlq)
    finally:
        conn.close()
    return queue


# -- the database ----------------------------------------------------------------------

def count(db, table, *where) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


def backlog(db) -> int:
    outbox = db.tables.outbox
    return count(db, outbox, outbox.c.published_at.is_(None))


def outbox_by_key(db, routing_key: str) -> dict[str, int]:
    """aggregate id → how many outbox rows of that type it has."""
    outbox = db.tables.outbox
    with db.sessions() as session:
        rows = session.execute(select(outbox.c.aggregate_id, func.count()).where(outbox.c.routing_key == routing_key)
                               .group_by(outbox.c.aggregate_id)).all()
    return {aggregate: n for aggregate, n in rows}


def handled(db, consumer: str) -> int:
    inbox = db.tables.inbox
    return count(db, inbox, inbox.c.consumer == consumer)


# -- a worker as a real process ------------------------------------------------------------

def worker_env(component: str, database_url: str, amqp_url: str, var_dir: Path) -> dict:
    """The environment `cadena up` would give a worker (see tests/e2e/conftest.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENA_")}
    env.update({"CADENA_ENV": "dev", "CADENA_VAR_DIR": str(var_dir), "CADENA_AMQP_URL": amqp_url,
                f"CADENA_{component.upper()}_DATABASE_URL": database_url, "CADENA_GATEWAY_URL": NOWHERE,
                "CADENA_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    for name in config.SERVICE_PORTS:
        env[f"CADENA_{name.upper()}_URL"] = NOWHERE
    return env


def start_worker_process(component: str, env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "shared.cli", "worker", component], env=env, cwd=config.ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL: no handler runs, no transaction commits, nothing is acked."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop_gently(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_hard(process)
