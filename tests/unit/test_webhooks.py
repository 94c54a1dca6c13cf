"""Webhooks through the gateway's API and the delivery worker's steps, on
SQLite with no broker and no network (a fake resolver and a fake sender)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook as Verifier

from shared.events import new_event

from gateway import delivery, history
from gateway.delivery import Outcome
from gateway.delivery_worker import DeliveryWorker
from gateway.models import WebhookDelivery
from gateway.ssrf import Refused, UrlGuard

PUBLIC = {"hooks.example.com": ["93.184.216.34"], "inside.example.com": ["10.1.2.3"]}


def resolve(host, port):
    if host.replace(".", "").isdigit() or ":" in host:
        return [host]  # an address resolves to itself
    if host not in PUBLIC:
        raise Refused(f"The host {host} does not resolve.")
    return PUBLIC[host]


@pytest.fixture
def gateway(sqlite_build):
    built = sqlite_build("gateway", webhook_retry_base=60, webhook_retry_window=3600)
    built.app.extensions["cadena"].url_guard = UrlGuard(resolve=resolve)  # CADENA_WEBHOOK_ALLOW_PRIVATE off
    return built


@pytest.fixture
def admin(gateway):
    reply = gateway.client.post("/api/v1/auth/token", json={"email": "admin@cadena.local", "password": "admin"})
    return {"Authorization": "Bearer " + reply.get_json()["access_token"]}


def make(gateway, admin, **fields):
    body = {"url": "https://hooks.example.com/cadena", "events": ["opportunities.opportunity.won", "accounts.#"],
            "description": "ERP", **fields}
    reply = gateway.client.post("/api/v1/webhooks", json=body, headers=admin)
    assert reply.status_code == 201, reply.get_json()
    return reply


class FakeSender:
    """Answers with the scripted outcomes in turn (the last one forever) and keeps every request."""

    def __init__(self, *outcomes: Outcome):
        self.outcomes, self.requests = list(outcomes), []

    def post(self, url, body, headers):
        self.requests.append((url, body, headers))
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]

    def close(self):
        pass


def owe(gateway, type_="accounts.account.created", data=None):
    event = new_event(source="accounts", type=type_, subject="a1", data=data or {"id": "a1", "name": "Aceros"})
    with gateway.db.transaction() as uow:
        history.record(event, uow)
        delivery.fan_out_many([event], uow)
    return event


# -- the API ----------------------------------------------------------------------------------

def test_create_shows_the_secret_once_and_reads_never_do(gateway, admin):
    reply = make(gateway, admin)
    body = reply.get_json()
    assert body["secret"].startswith("whsec_") and body["enabled"] is True
    assert reply.headers["Location"] == f"/api/v1/webhooks/{body['id']}" and reply.headers["ETag"] == '"1"'
    read = gateway.client.get(f"/api/v1/webhooks/{body['id']}", headers=admin).get_json()
    listed = gateway.client.get("/api/v1/webhooks", headers=admin).get_json()["items"]
    assert "secret" not in read and [h["id"] for h in listed] == [body["id"]] and "secret" not in listed[0]
    assert read["events"] == ["opportunities.opportunity.won", "accounts.#"]


def test_change_pause_and_delete(gateway, admin):
    hook = make(gateway, admin).get_json()
    path = f"/api/v1/webhooks/{hook['id']}"
    stale = gateway.client.patch(path, json={"description": "x"}, headers={**admin, "If-Match": '"9"'})
    assert stale.status_code == 412
    paused = gateway.client.patch(path, json={"enabled": False, "events": ["support.#"]},
                                  headers={**admin, "If-Match": '"1"'})
    assert paused.status_code == 200 and paused.get_json()["enabled"] is False
    assert paused.get_json()["disabled_reason"] and paused.get_json()["events"] == ["support.#"]
    resumed = gateway.client.patch(path, json={"enabled": True}, headers=admin).get_json()
    assert resumed["enabled"] is True and resumed["disabled_at"] is None
    assert gateway.client.delete(path, headers=admin).status_code == 204
    assert gateway.client.get(path, headers=admin).status_code == 404
    assert gateway.client.get("/api/v1/webhooks", headers=admin).get_json()["items"] == []


@pytest.mark.parametrize("body, field", [
    ({"url": "https://inside.example.com/x"}, "url"),  # private, the dev flag is off
    ({"url": "http://127.0.0.1:9/x"}, "url"),  # loopback ({"url": "ftp://hooks.example.com/"}, "url"),
    ({"url": "https://nowhere.example.com/"}, "url"), ({"events": []}, "events"),
    ({"events": ["accounts..x"]}, "events.0"), ({"events": "accounts.#"}, "events"),
    ({"description": "x" * 501}, "description"), ({"secret": "mine"}, "secret"),
])
def test_bad_webhooks_are_422_naming_the_field(gateway, admin, body, field):
    payload = {"url": "https://hooks.example.com/", "events": ["accounts.#"], **body}
    reply = gateway.client.post("/api/v1/webhooks", json=payload, headers=admin)
    assert reply.status_code == 422, reply.get_json()
    assert field in reply.get_json()["errors"]


def test_a_private_url_is_refused_on_change_too(gateway, admin):
    hook = make(gateway, admin).get_json()
    reply = gateway.client.patch(f"/api/v1/webhooks/{hook['id']}", json={"url": "https://inside.example.com/"},
                                 headers=admin)
    assert reply.status_code == 422 and "private" in reply.get_json()["errors"]["url"][0]


def test_only_admins_manage_webhooks(gateway, admin):
    gateway.client.post("/api/v1/users", headers=admin, json={"email": "m@x.es", "name": "M", "role": "manager",
                                                             "password": "s3cret-pass"})
    token = gateway.client.post("/api/v1/auth/token", json={"email": "m@x.es", "password": "s3cret-pass"})
    manager = {"Authorization": "Bearer " + token.get_json()["access_token"]}
    assert gateway.client.get("/api/v1/webhooks", headers=manager).status_code == 403
    assert gateway.client.post("/api/v1/webhooks", json={}, headers=manager).status_code == 403
    assert gateway.client.get("/api/v1/webhooks").status_code == 401


def test_rotation_gives_a_new_secret_and_both_sign_for_a_day(gateway, admin):
    hook = make(gateway, admin).get_json()
    reply = gateway.client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=admin)
    assert reply.status_code == 200
    rotated = reply.get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    ends = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert timedelta(hours=23) < ends - datetime.now(timezone.utc) <= timedelta(hours=24)
    sender = FakeSender(Outcome(200, None, 3))
    owe(gateway)
    worker = DeliveryWorker(gateway.settings, gateway.db, sender=sender)
    [prepared] = delivery.claim(gateway.db, slots=4, busy={}, per_endpoint=2, lease=60)
    worker.attempt(prepared)
    _url, body, headers = sender.requests[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated["secret"]):
        assert Verifier(secret).verify(body.decode(), headers)["type"] == "accounts.account.created"


# -- delivering -------------------------------------------------------------------------------

def test_a_matching_event_is_sent_signed_as_its_cloudevent_and_retried_until_it_gets_through(gateway, admin):
    hook = make(gateway, admin).get_json()
    other = make(gateway, admin, events=["support.#"]).get_json()
    event = owe(gateway)
    sender = FakeSender(Outcome(500, None, 5), Outcome(None, "timeout: no answer within 10 s", 10000),
                        Outcome(204, None, 4))
    worker = DeliveryWorker(gateway.settings, gateway.db, sender=sender, rng=lambda: 0.5)
    for round_ in range(3):
        claimed = delivery.claim(gateway.db, slots=4, busy={}, per_endpoint=2, lease=60,
                                 now=datetime.now(timezone.utc) + timedelta(hours=round_))
        assert [p.webhook_id for p in claimed] == [hook["id"]]  # the other webhook wants none of it
        worker.attempt(claimed[0])
    url, body, headers = sender.requests[0]
    assert url == "https://hooks.example.com/cadena" and json.loads(body) == event
    assert headers["webhook-id"] == event["id"] and headers["Content-Type"].startswith("application/cloudevents+json")
    assert Verifier(hook["secret"]).verify(body.decode(), headers)["id"] == event["id"]
    attempts = gateway.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?limit=2", headers=admin).get_json()
    assert [a["attempt"] for a in attempts["items"]] == [3, 2]  # newest first
    assert attempts["items"][0]["status_code"] == 204 and attempts["items"][0]["next_retry_at"] is None
    assert attempts["items"][1]["error"].startswith("timeout") and attempts["items"][1]["next_retry_at"]
    rest = gateway.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?limit=2&cursor={attempts['next_cursor']}",
                              headers=admin).get_json()
    assert [(a["attempt"], a["status_code"]) for a in rest["items"]] == [(1, 500)] and rest["next_cursor"] is None
    assert gateway.client.get(f"/api/v1/webhooks/{other['id']}/deliveries", headers=admin).get_json()["items"] == []


def test_failing_for_the_whole_window_disables_the_webhook_and_says_so(gateway, admin):
    hook = make(gateway, admin).get_json()
    owe(gateway)
    owe(gateway, data={"id": "a2", "name": "Otro"})
    worker = DeliveryWorker(gateway.settings, gateway.db, sender=FakeSender(Outcome(503, None, 2)))
    start = datetime.now(timezone.utc)
    [first, _] = delivery.claim(gateway.db, slots=4, busy={}, per_endpoint=2, lease=60, now=start)
    worker.attempt(first)
    with gateway.db.sessions() as session:
        row = session.get(WebhookDelivery, first.delivery_id)
        assert row.status == "pending" and row.next_attempt_at > start
        row.first_attempt_at = start - timedelta(hours=2)  # the window (1 h here) is over
        session.commit()
    [again] = [c for c in delivery.claim(gateway.db, slots=4, busy={}, per_endpoint=2, lease=60,
                                         now=start + timedelta(hours=3)) if c.delivery_id == first.delivery_id]
    worker.attempt(again)
    read = gateway.client.get(f"/api/v1/webhooks/{hook['id']}", headers=admin).get_json()
    assert read["enabled"] is False and "503" in read["disabled_reason"]
    with gateway.db.sessions() as session:
        statuses = sorted(session.scalars(select(WebhookDelivery.status)))
        published = session.execute(select(gateway.db.tables.outbox.c.routing_key)).scalars().all()
    assert statuses == ["abandoned", "failed"] and "gateway.webhook.disabled" in published
    assert delivery.claim(gateway.db, slots=4, busy={}, per_endpoint=2, lease=60,
                          now=start + timedelta(days=1)) == []


def test_one_busy_endpoint_gets_no_more_than_its_share_of_senders(gateway, admin):
    slow = make(gateway, admin, events=["accounts.#"]).get_json()
    fast = make(gateway, admin, events=["support.#"]).get_json()
    for _ in range(6):
        owe(gateway)
    owe(gateway, "support.case.opened", {"id": "k1", "account_id": "a1"})
    claimed = delivery.claim(gateway.db, slots=4, busy={slow["id"]: 1}, per_endpoint=2, lease=60)
    assert sorted(p.webhook_id for p in claimed) == sorted([slow["id"], fast["id"]])
    # Leased: a competing worker gets the rest, never the same ones.
    rival = delivery.claim(gateway.db, slots=10, busy={}, per_endpoint=10, lease=60)
    assert {p.delivery_id for p in rival}.isdisjoint({p.delivery_id for p in claimed}) and len(rival) == 5


def test_a_window_owes_what_its_events_one_by_one_would_and_a_redelivery_nothing(gateway, admin):
    erp = make(gateway, admin).get_json()["id"]  # won deals and accounts.#
    cases = make(gateway, admin, events=["support.case.*"]).get_json()["id"]
    make(gateway, admin, events=["accounts.#"], enabled=False)
    window = [new_event(source="accounts", type="accounts.account.created", subject="a1", data={"id": "a1"}),
              new_event(source="support", type="support.case.opened", subject="k1", data={"id": "k1"}),
              new_event(source="activities", type="activities.activity.created", subject="t1", data={"id": "t1"}),
              new_event(source="opportunities", type="opportunities.opportunity.won", subject="o1", data={"id": "o1"})]
    worker = DeliveryWorker(gateway.settings, gateway.db, sender=FakeSender(Outcome(200, None, 1)))
    with gateway.db.transaction() as uow:
        worker.handlers["#"].many(window, uow)
    assert worker._owed
    with gateway.db.sessions() as session:
        owed = set(session.execute(select(WebhookDelivery.webhook_id, WebhookDelivery.event_id)).all())
    assert owed == {(erp, window[0]["id"]), (cases, window[1]["id"]), (erp, window[3]["id"])}
    worker._owed = False
    with gateway.db.transaction() as uow:
        worker.handlers["#"].many(window[2:3], uow)  # nobody wants it: the dispatcher is not woken
        assert delivery.fan_out_many(window, uow) == 3  # a redelivery finds the same three ...
    assert not worker._owed
    with gateway.db.sessions() as session:  # ... already owed, and owes nothing more
        assert session.query(WebhookDelivery).count() == 3


def test_replay_owes_again_every_matching_event_since_a_time(gateway, admin):
    hook = make(gateway, admin, events=["accounts.account.*"]).get_json()
    old = new_event(source="accounts", type="accounts.account.created", subject="a0", data={"id": "a0"})
    old["time"] = "2026-01-01T00:00:00+00:00"
    with gateway.db.transaction() as uow:
        history.record(old, uow)
    recent = [owe(gateway), owe(gateway, "support.case.opened", {"id": "k1", "account_id": "a1"})]
    path = f"/api/v1/webhooks/{hook['id']}/replay"
    reply = gateway.client.post(path, json={"since": "2026-02-01T00:00:00Z"}, headers=admin)
    assert reply.status_code == 202 and reply.get_json()["queued"] == 1
    everything = gateway.client.post(path, json={"since": "2025-01-01T00:00:00Z"}, headers=admin).get_json()
    assert everything["queued"] == 2
    sender = FakeSender(Outcome(200, None, 1))
    worker = DeliveryWorker(gateway.settings, gateway.db, sender=sender)
    for prepared in delivery.claim(gateway.db, slots=10, busy={}, per_endpoint=10, lease=60):
        worker.attempt(prepared)
    sent = [json.loads(body)["id"] for _, body, _ in sender.requests]
    assert sorted(sent) == sorted([recent[0]["id"], recent[0]["id"], recent[0]["id"], old["id"]])
    assert gateway.client.post(path, json={"since": "yesterday"}, headers=admin).status_code == 422
    assert gateway.client.post(f"/api/v1/webhooks/{uuid.uuid4()}/replay", json={"since": "2026-01-01T00:00:00Z"},
                               headers=admin).status_code == 404
    gateway.client.patch(f"/api/v1/webhooks/{hook['id']}", json={"enabled": False}, headers=admin)
    assert gateway.client.post(path, json={"since": "2026-01-01T00:00:00Z"}, headers=admin).status_code == 409


def test_a_cursor_of_the_wrong_shape_is_422(gateway, admin):
    hook = make(gateway, admin).get_json()
    import base64

    forged = base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00+00:00", "x"]).encode()).decode().rstrip("=")
    reply = gateway.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?cursor={forged}", headers=admin)
    assert reply.status_code == 422


@pytest.mark.parametrize("url, why", [("http://127.0.0.1:9/x", "loopback"), ("http://[::1]/x", "loopback"),
                                      ("http://169.254.169.254/latest/meta-data", "cloud metadata"),
                                      ("http://10.0.0.8/", "private"), ("http://0.0.0.0:8000/", "unspecified")])
def test_with_the_settings_as_shipped_local_and_private_addresses_are_refused(sqlite_build, url, why):
    gateway = sqlite_build("gateway")  # CADENA_WEBHOOK_ALLOW_PRIVATE unset: the guard the settings make
    assert gateway.settings.webhook_allow_private is False
    token = gateway.client.post("/api/v1/auth/token", json={"email": "admin@cadena.local", "password": "admin"})
    reply = gateway.client.post("/api/v1/webhooks", json={"url": url, "events": ["accounts.#"]},
                                headers={"Authorization": "Bearer " + token.get_json()["access_token"]})
    assert reply.status_code == 422 and why in reply.get_json()["errors"]["url"][0]
