"""Webhooks and the event history through the gateway, with every process
running as `cadena up` runs it and a real HTTP receiver on 127.0.0.1 (the
system allows that address with CADENA_WEBHOOK_ALLOW_PRIVATE=1 and nothing
beyond 127.0.0.0/8; the refusal with the flag off is tested in
tests/unit/test_webhooks.py)."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from standardwebhooks import Webhook as Verifier

from shared import config
from tests.support.receiver import Receiver
from tests.support.wait import until


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as running:
        yield running


def webhook(system, url, events=("accounts.#",)) -> dict:
    reply = system.post("/api/v1/webhooks", {"url": url, "events": list(events), "description": "e2e"})
    assert reply.status == 201, reply.body
    return reply.json()


def new_account(system, name="Aceros") -> dict:
    reply = system.post("/api/v1/accounts", {"name": f"{name} {uuid.uuid4().hex[:6]} S.L.", "country": "ES"})
    assert reply.status == 201, reply.body
    return reply.json()


def bodies(receiver, path) -> list[dict]:
    return [json.loads(r.body) for r in receiver.at(path)]


def test_an_event_arrives_signed_as_its_cloudevent(system, receiver):
    hook = webhook(system, receiver.url("/signed"))
    account = new_account(system)
    [request] = until(lambda: receiver.at("/signed"), timeout=20)
    event = Verifier(hook["secret"]).verify(request.body, request.headers)  # the spec's own algorithm
    assert event["type"] == "accounts.account.created" and event["subject"] == account["id"]
    assert request.headers["webhook-id"] == event["id"] and event["specversion"] == "1.0"
    # The history is kept by a consumer of its own queue, which may come after the webhook's
    stored = until(lambda: system.get(f"/api/v1/events?subject={account['id']}&type=accounts.account.created")
                   .json()["items"], timeout=20)
    assert stored == [event]  # what was sent is what the history keeps


def test_500s_are_retried_and_every_attempt_is_listed(system, receiver):
    receiver.script("/flaky", 500, 503, 200)
    hook = webhook(system, receiver.url("/flaky"))
    new_account(system)
    until(lambda: len(receiver.at("/flaky")) == 3, timeout=30)
    assert len({r.headers["webhook-id"] for r in receiver.at("/flaky")}) == 1
    listed = until(lambda: (lambda items: items if len(items) == 3 else None)(
        system.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"]), timeout=10)
    assert [(a["attempt"], a["status_code"]) for a in listed] == [(3, 200), (2, 503), (1, 500)]
    assert listed[0]["next_retry_at"] is None and listed[1]["next_retry_at"] and listed[2]["duration_ms"] >= 0


def test_replay_sends_the_history_again(system, receiver):
    since = datetime.now(timezone.utc).isoformat()
    hook = webhook(system, receiver.url("/replayed"))
    accounts = [new_account(system, "Replay") for _ in range(2)]
    until(lambda: len(receiver.at("/replayed")) == 2, timeout=20)
    reply = system.post(f"/api/v1/webhooks/{hook['id']}/replay", {"since": since})
    assert reply.status == 202 and reply.json()["queued"] >= 2
    until(lambda: len(receiver.at("/replayed")) >= 4, timeout=20)
    subjects = [b["subject"] for b in bodies(receiver, "/replayed")]
    assert all(subjects.count(a["id"]) >= 2 for a in accounts)


def test_rotation_signs_with_both_secrets(system, receiver):
    hook = webhook(system, receiver.url("/rotated"))
    rotated = system.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status == 200
    new_account(system)
    [request] = until(lambda: receiver.at("/rotated"), timeout=20)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated.json()["secret"]):
        Verifier(secret).verify(request.body, request.headers)


def test_a_webhook_failing_for_the_window_is_disabled_and_that_is_an_event(system, receiver):
    receiver.script("/down", 500)
    hook = webhook(system, receiver.url("/down"))
    new_account(system)
    disabled = until(lambda: (lambda h: h if not h["enabled"] else None)(
        system.get(f"/api/v1/webhooks/{hook['id']}").json()), timeout=40)
    assert "HTTP 500" in disabled["disabled_reason"] and len(receiver.at("/down")) >= 3
    said = until(lambda: system.get(f"/api/v1/events?type=gateway.webhook.%2A&subject={hook['id']}").json()["items"])
    assert said[0]["type"] == "gateway.webhook.disabled" and said[0]["data"]["url"] == hook["url"]


def test_destinations_outside_this_machine_are_refused(system):
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "ftp://127.0.0.1/"):
        reply = system.post("/api/v1/webhooks", {"url": url, "events": ["accounts.#"]})
        assert reply.status == 422 and "url" in reply.json()["errors"], url


def test_the_cli_pings_a_webhook(system, receiver):
    hook = webhook(system, receiver.url("/pinged"), events=["nothing.#"])
    cli = str(Path(sys.executable).with_name("cadena"))
    done = subprocess.run([cli, "webhooks", "test", hook["id"]], env=system.env, cwd=config.ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "HTTP 200" in done.stdout
    [request] = receiver.at("/pinged")
    assert Verifier(hook["secret"]).verify(request.body, request.headers)["type"] == "gateway.webhook.ping"


def test_history_pages_by_type_subject_since_cursor_and_customer(system):
    since = datetime.now(timezone.utc).isoformat()
    account = new_account(system, "Historia")
    contact = system.post("/api/v1/contacts", {"first_name": "Nerea", "account_id": account["id"]}).json()
    system.patch(f"/api/v1/accounts/{account['id']}", {"name": account["name"] + " (renamed)"})
    customer = f"/api/v1/customers/{account['id']}/events?limit=1"

    def every(path):
        items, cursor = [], None
        while True:
            page = system.get(path + (f"&cursor={cursor}" if cursor else "")).json()
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    items = until(lambda: (lambda i: i if len(i) >= 3 else None)(every(customer)), timeout=20)
    assert [i["type"] for i in items] == ["accounts.account.created", "accounts.contact.created",
                                          "accounts.account.updated"]
    times = [i["time"] for i in items]
    assert times == sorted(times)
    accounts_only = every(f"/api/v1/events?type=accounts.account.%2A&subject={account['id']}&limit=1")
    assert [i["type"] for i in accounts_only] == ["accounts.account.created", "accounts.account.updated"]
    contacts = every(f"/api/v1/events?type=%2A.contact.created&since={quote(since)}&limit=50")
    assert contact["id"] in {i["subject"] for i in contacts}
    assert system.get("/api/v1/events?type=accounts..x").status == 422
    assert system.get("/api/v1/events?since=2026-01-01T00:00:00").status == 422  # no zone
