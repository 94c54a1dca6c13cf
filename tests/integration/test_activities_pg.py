"""Activities on the real Postgres and RabbitMQ: reminders exactly once with
two workers, catching up after a worker was down, and completed activities
reaching the accounts view through a real accounts worker."""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta

import pika
import pytest
from sqlalchemy import func, select

from shared.bus import parameters
from shared.db import utcnow
from tests.support.auth import headers
from tests.support.broker import Listener
from tests.support.wait import until

from services.activities.models import LinkedRecord

REMINDER = "activities.activity.reminder_due"
NOWHERE = "http://127.0.0.1:9"  # no other service is asked in these tests


def consumers(amqp_url: str, queue: str) -> int:
    conn = pika.BlockingConnection(parameters(amqp_url))
    try:
        return conn.channel().queue_declare(queue, passive=True).method.consumer_count
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if conn.is_open:
            conn.close()


def counting(worker) -> Counter:
    """Count each worker's reminder-job passes, to know when it has looked again."""
    runs = Counter()
    for job in worker.jobs:
        original = job.run

        def run(original=original, name=job.name):
            result = original()
            runs[name] += 1
            return result

        job.run = run
    return runs


@pytest.fixture
def activities(build):
    built = build("activities", extra={"reminder_batch": "5"})
    built.app.extensions["cadena"].links.urls = dict.fromkeys(built.app.extensions["cadena"].links.urls, NOWHERE)
    return built


@pytest.fixture
def listener(amqp_url):
    made = Listener(amqp_url, [REMINDER, "activities.handover.completed"])
    yield made
    made.delete()


def create(built, h, **body):
    r = built.client.post("/api/v1/activities", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_two_workers_publish_each_reminder_exactly_once_within_5s(activities, listener):
    owner = str(uuid.uuid4())
    h = headers("rep", owner, "Iberia")
    remind_at = utcnow() + timedelta(seconds=2)
    ids = {create(activities, h, type="call", subject=f"Llamada {i}", starts_at=(remind_at + timedelta(hours=1)).isoformat(),
                  remind_at=remind_at.isoformat())["id"] for i in range(40)}
    first, second = activities.worker(), activities.worker()
    runs = [counting(first), counting(second)]
    first.start()
    second.start()

    until(lambda: len(listener.of_type(REMINDER)) >= len(ids), timeout=15)
    # Let both workers look again twice after everything was sent: nothing more may come.
    seen = [r["activities.reminders"] for r in runs]
    until(lambda: all(r["activities.reminders"] >= s + 2 for r, s in zip(runs, seen)), timeout=10)
    reminders = listener.of_type(REMINDER)
    assert Counter(e["subject"] for e in reminders) == Counter({i: 1 for i in ids})
    assert {e["data"]["owner_id"] for e in reminders} == {owner}
    for event in reminders:
        published = datetime.fromisoformat(event["time"])
        assert timedelta(0) <= published - remind_at <= timedelta(seconds=5)
    outbox = activities.db.tables.outbox
    with activities.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(outbox.c.routing_key == REMINDER)) == len(ids)


def test_a_worker_that_was_down_catches_up(activities, listener):
    h = headers("rep", str(uuid.uuid4()), "Iberia")
    down = activities.worker()
    runs = counting(down)
    threads = down.start()
    until(lambda: runs["activities.reminders"] >= 1, timeout=10)
    down.stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert not any(t.is_alive() for t in threads)

    remind_at = utcnow() + timedelta(seconds=1)
    activity = create(activities, h, type="task", subject="Enviar propuesta", due_at=(remind_at + timedelta(days=1)).isoformat(),
                      remind_at=remind_at.isoformat())
    until(lambda: utcnow() > remind_at + timedelta(seconds=1), timeout=5)
    assert listener.of_type(REMINDER) == []  # nobody was there to send it

    activities.worker().start()
    started = utcnow()
    [event] = until(lambda: listener.of_type(REMINDER, activity["id"]), timeout=5)
    assert utcnow() - started < timedelta(seconds=5)
    assert event["data"] == {**event["data"], "activity_id": activity["id"], "subject": "Enviar propuesta",
                             "owner_id": activity["owner_id"]}


def test_a_completed_activity_moves_the_account_views_last_activity(build, activities, amqp_url):
    accounts = build("accounts")
    rep_id = str(uuid.uuid4())
    h = headers("rep", rep_id, "Iberia")
    accounts.worker().start()
    activities.worker().start()
    until(lambda: consumers(amqp_url, "cadena.activities.events") >= 1 and
          consumers(amqp_url, "cadena.accounts.events") >= 1, timeout=15)

    r = accounts.client.post("/api/v1/accounts", json={"name": "Bodegas Valdeolmos S.A.", "country": "ES"}, headers=h)
    assert r.status_code == 201, r.get_json()
    account_id = r.get_json()["id"]

    def replicated():
        with activities.db.sessions() as session:
            return session.get(LinkedRecord, ("account", account_id))

    assert until(replicated, timeout=10).label == "Bodegas Valdeolmos S.A."

    met_at = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    activity = create(activities, h, type="meeting", subject="Cata con el comprador", account_id=account_id,
                      starts_at=met_at.isoformat(), ends_at=(met_at + timedelta(hours=1)).isoformat())
    r = activities.client.post(f"/api/v1/activities/{activity['id']}/complete",
                               json={"outcome": "Pedido piloto", "notes": "Acta", "agreements": ["Muestras el lunes"]},
                               headers=h)
    assert r.status_code == 200, r.get_json()

    def last_activity():
        view = accounts.client.get(f"/api/v1/accounts/{account_id}/view", headers=h).get_json()
        return view["last_activity_at"]

    assert datetime.fromisoformat(until(last_activity, timeout=10)) == met_at


def test_a_replica_miss_reads_the_record_from_its_owner_over_http(build, activities):
    """No events flow here: the account is only known to the accounts service,
    which activities asks with the caller's token, then remembers."""
    import threading

    from werkzeug.serving import make_server

    accounts = build("accounts")
    server = make_server("127.0.0.1", 0, accounts.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    links = activities.app.extensions["cadena"].links
    links.urls["accounts"] = f"http://127.0.0.1:{server.server_port}"
    h = headers("rep", str(uuid.uuid4()), "Iberia")
    try:
        account = accounts.client.post("/api/v1/accounts", json={"name": "Recién Creada S.L.", "city": "Burgos"},
                                       headers=h).get_json()
        contact = accounts.client.post("/api/v1/contacts", json={"first_name": "Ana", "account_id": account["id"]},
                                       headers=h).get_json()
        meeting = create(activities, h, type="meeting", subject="Primera reunión", contact_id=contact["id"],
                         starts_at=utcnow().isoformat())
        assert meeting["account_id"] == account["id"]
        with activities.db.sessions() as session:
            assert session.get(LinkedRecord, ("account", account["id"])) is None  # only what was asked for
            assert session.get(LinkedRecord, ("contact", contact["id"])).account_id == account["id"]
        unknown = activities.client.post("/api/v1/activities", json={"type": "call", "starts_at": utcnow().isoformat(),
                                                                     "account_id": str(uuid.uuid4())}, headers=h)
        assert unknown.status_code == 422 and "account_id" in unknown.get_json()["errors"]
    finally:
        server.shutdown()
        thread.join(timeout=5)
    # The owner is down: a record nobody can vouch for is refused, naming the link.
    down = activities.client.post("/api/v1/activities", json={"type": "call", "starts_at": utcnow().isoformat(),
                                                              "account_id": str(uuid.uuid4())}, headers=h)
    assert down.status_code == 503
    assert down.get_json()["type"].endswith("/owner-unavailable") and "account_id" in down.get_json()["errors"]
    # What it already learnt still counts.
    again = activities.client.post("/api/v1/activities", json={"type": "call", "starts_at": utcnow().isoformat(),
                                                               "contact_id": contact["id"]}, headers=h)
    assert again.status_code == 201
