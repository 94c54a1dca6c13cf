"""The webhooks pages in a real headless Chromium against the whole system:
both pages load clean, accessible (axe-core) and within a phone's width in
both languages; an admin creates a webhook in the console, copies its
secret from the one answer that shows it, sees the delivery a receiver on
127.0.0.1 got, pauses and resumes it, and replays the history."""
from __future__ import annotations

import re
import uuid

import pytest
from standardwebhooks import Webhook as Verifier

from tests.e2e.test_console_e2e import CHROMIUM, _axe_violations, _page, _shot, browser  # noqa: F401
from tests.e2e.test_console_work_e2e import _login
from tests.support.receiver import Receiver
from tests.support.wait import until

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason=f"no system Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def hook(system, receiver):
    reply = system.post("/api/v1/webhooks", {"url": receiver.url("/console"), "events": ["accounts.account.*"],
                                             "description": "Consola"})
    assert reply.status == 201
    system.post("/api/v1/accounts", {"name": f"Consola Webhook {uuid.uuid4().hex[:6]} S.L."})
    until(lambda: receiver.at("/console"), timeout=20)
    return reply.json()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_webhook_pages_load_clean_accessible_and_fit_a_phone(browser, system, hook, lang):  # noqa: F811
    pages = {"webhooks": "/app/admin/webhooks", "webhook": f"/app/admin/webhooks/{hook['id']}"}
    for width in (1280, 375):
        page = _page(browser, width)
        _login(page, system, "admin@cadena.local", "admin", lang)
        for name, path in pages.items():
            page.goto(system.url + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == lang, name
            _shot(page, name, lang, width)
            if width == 1280:
                assert _axe_violations(page) == [], name
        assert page.problems == [], page.problems
        page.close()


def test_an_admin_creates_pauses_resumes_and_replays_a_webhook(browser, system, receiver):  # noqa: F811
    page = _page(browser)
    _login(page, system, "admin@cadena.local", "admin", "en")
    page.goto(f"{system.url}/app/admin/users")
    page.click("a[href$='/app/admin/webhooks']")
    page.fill("#f-url", receiver.url("/made-in-console"))
    page.fill("#f-events", "accounts.account.created")
    page.fill("#f-description", "Made in the console")
    page.click("form.form button.primary")
    secret = page.locator("section.notice code").inner_text()
    assert secret.startswith("whsec_")
    page.reload()  # the browser sends the form again: its key makes that a replay, not a second webhook
    assert page.locator("section.notice code").inner_text() == secret
    page.goto(f"{system.url}/app/admin/webhooks")
    assert "whsec_" not in page.content()  # shown once
    assert page.locator(f"a:has-text('{receiver.url('/made-in-console')}')").count() == 1
    system.post("/api/v1/accounts", {"name": f"Consola Alta {uuid.uuid4().hex[:6]} S.L."})
    [request] = until(lambda: receiver.at("/made-in-console"), timeout=20)
    assert Verifier(secret).verify(request.body, request.headers)["type"] == "accounts.account.created"
    page.click(f"a:has-text('{receiver.url('/made-in-console')}')")
    page.wait_for_url(re.compile(r".*/app/admin/webhooks/[0-9a-f-]{36}$"))
    until(lambda: page.reload() or page.locator("table.stack tbody tr").count() >= 1, timeout=10)
    page.click("text=Pause deliveries")
    page.wait_for_selector("text=Enable again")
    page.click("text=Enable again")
    page.wait_for_selector("text=Pause deliveries")
    page.fill("#f-since", "2000-01-01T00:00")
    page.click("text=Replay")
    page.wait_for_selector(".notice.ok")
    until(lambda: len(receiver.at("/made-in-console")) >= 2, timeout=20)
    assert page.problems == []
    page.close()
