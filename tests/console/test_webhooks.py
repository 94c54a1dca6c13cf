"""The webhooks pages (administrators), against the fake API."""
from __future__ import annotations

import re

from tests.console.fake_api import page

HOOK_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
HOOK = {"id": HOOK_ID, "version": 1, "url": "https://erp.example.com/cadena", "description": "ERP",
        "events": ["opportunities.opportunity.won", "accounts.#"], "enabled": True, "disabled_at": None,
        "disabled_reason": None, "previous_secret_expires_at": None, "created_at": "2026-11-01T09:00:00+00:00",
        "updated_at": "2026-11-01T09:00:00+00:00"}
ATTEMPTS = [
    {"id": 2, "event_id": "e1e1e1e1-0000-4000-8000-000000000000", "event_type": "accounts.account.created",
     "attempt": 2, "at": "2026-11-27T10:00:10+00:00", "status_code": 200, "error": None, "duration_ms": 41,
     "next_retry_at": None},
    {"id": 1, "event_id": "e1e1e1e1-0000-4000-8000-000000000000", "event_type": "accounts.account.created",
     "attempt": 1, "at": "2026-11-27T10:00:00+00:00", "status_code": None,
     "error": "timeout: no answer within 10 s", "duration_ms": 10000, "next_retry_at": "2026-11-27T10:00:10+00:00"},
]


def routes(fake):
    fake.on("GET", "/api/v1/webhooks", 200, page([HOOK]))
    fake.on("GET", f"/api/v1/webhooks/{HOOK_ID}", 200, HOOK)
    fake.on("GET", f"/api/v1/webhooks/{HOOK_ID}/deliveries", 200, page(ATTEMPTS, "next-1"))


def test_only_admins_see_the_link_and_the_page(sign_in, fake):
    routes(fake)
    manager = sign_in("manager")
    assert "/admin/webhooks" not in manager.get("/admin/users").get_data(as_text=True)
    assert manager.get("/admin/webhooks").status_code == 403
    admin = sign_in("admin")
    assert 'href="/admin/webhooks"' in admin.get("/admin/users").get_data(as_text=True)


def test_the_list_shows_each_webhook_and_a_new_ones_secret_once(sign_in, fake):
    routes(fake)
    client = sign_in("admin")
    html = client.get("/admin/webhooks").get_data(as_text=True)
    assert "https://erp.example.com/cadena" in html and "accounts.#" in html and "Pausar" in html
    fake.on("POST", "/api/v1/webhooks", 201, {**HOOK, "secret": "whsec_shown-once"})
    form = client.get("/admin/webhooks").get_data(as_text=True)
    key = re.search(r'name="key" value="([0-9a-f]{32})"', form).group(1)
    reply = client.post("/admin/webhooks", data={"url": "https://erp.example.com/cadena", "key": key,
                                                 "events": "opportunities.opportunity.won, accounts.#",
                                                 "description": "ERP"})
    assert reply.status_code == 201 and "whsec_shown-once" in reply.get_data(as_text=True)
    call = fake.called("POST", "/api/v1/webhooks")[-1]
    assert call["headers"]["Idempotency-Key"] == key  # a reload sends the same key: nothing more is created
    sent = call["body"]
    assert sent == {"url": "https://erp.example.com/cadena", "events": ["opportunities.opportunity.won", "accounts.#"],
                    "description": "ERP"}
    assert "whsec_shown-once" not in client.get("/admin/webhooks").get_data(as_text=True)


def test_a_refused_url_is_said_beside_the_field_and_kept(sign_in, fake):
    routes(fake)
    client = sign_in("admin")
    fake.on("POST", "/api/v1/webhooks", 422, {"status": 422, "detail": "invalid", "errors": {
        "url": ["inside.example.com resolves to 10.1.2.3, a private address; webhooks may only reach public "
                "addresses."]}})
    reply = client.post("/admin/webhooks", data={"url": "https://inside.example.com/x", "events": "accounts.#"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422 and 'id="e-url"' in html and "a private address" in html
    assert 'value="https://inside.example.com/x"' in html


def test_pause_and_resume_patch_enabled(sign_in, fake):
    routes(fake)
    client = sign_in("admin")
    fake.on("PATCH", f"/api/v1/webhooks/{HOOK_ID}", 200, {**HOOK, "enabled": False})
    reply = client.post(f"/admin/webhooks/{HOOK_ID}/enabled", data={"enabled": "0"})
    assert reply.status_code == 303
    client.post(f"/admin/webhooks/{HOOK_ID}/enabled", data={"enabled": "1"})
    assert [c["body"] for c in fake.called("PATCH", f"/api/v1/webhooks/{HOOK_ID}")] == [
        {"enabled": False}, {"enabled": True}]


def test_a_webhooks_page_lists_attempts_with_their_answer_and_pages_on(sign_in, fake):
    routes(fake)
    client = sign_in("admin")
    html = client.get(f"/admin/webhooks/{HOOK_ID}?lang=en").get_data(as_text=True)
    assert "timeout: no answer within 10 s" in html and ">200<" in html and "41 ms" in html
    assert f"/admin/webhooks/{HOOK_ID}?cursor=next-1" in html
    client.get(f"/admin/webhooks/{HOOK_ID}?cursor=next-1")
    assert fake.called("GET", f"/api/v1/webhooks/{HOOK_ID}/deliveries")[-1]["query"]["cursor"] == ["next-1"]


def test_replay_sends_the_time_in_the_consoles_zone_and_says_how_many(sign_in, fake):
    routes(fake)
    client = sign_in("admin")
    fake.on("POST", f"/api/v1/webhooks/{HOOK_ID}/replay", 202, {"replay_id": "r", "webhook_id": HOOK_ID,
                                                                "since": "2026-11-27T09:00:00+00:00", "queued": 7})
    reply = client.post(f"/admin/webhooks/{HOOK_ID}/replay", data={"since": "2026-11-27T10:00"})
    assert reply.status_code == 303
    assert fake.called("POST", f"/api/v1/webhooks/{HOOK_ID}/replay")[-1]["body"] == {
        "since": "2026-11-27T10:00:00+01:00"}  # Europe/Madrid in November
    assert "Se volverán a enviar 7 eventos." in client.get(f"/admin/webhooks/{HOOK_ID}").get_data(as_text=True)
    empty = client.post(f"/admin/webhooks/{HOOK_ID}/replay", data={"since": ""})
    assert empty.status_code == 422 and 'id="e-since"' in empty.get_data(as_text=True)
