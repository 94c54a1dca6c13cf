"""The console's merge pages in a real headless Chromium against the whole
system: both steps (choose the duplicate, pick the values side by side) load
clean and accessible in both languages and widths; a contact merged with
the mouse and an account merged with the keyboard alone are merged in the
API, and the duplicate's page leads to the survivor."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_console_e2e import (CHROMIUM, _axe_violations, _login, _page,  # noqa: F401
                                        _shot, browser)

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason=f"no system Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def twins(system):
    """A rep's customer entered twice, and a contact entered twice."""
    tag = uuid.uuid4().hex[:6]
    rep = system.make_user("rep", team=f"Fusiones-{tag}")
    mine = {"token": rep["email"]}

    def make(path, body):
        reply = system.post(path, {**body, "owner_id": rep["id"]}, **mine)
        assert reply.status == 201, reply.body
        return reply.json()

    account = make("/api/v1/accounts", {"name": f"Cerámicas Onda {tag}", "country": "ES", "city": "Onda"})
    account_twin = make("/api/v1/accounts", {"name": f"Cerámicas Onda {tag} S.L.", "country": "ES",
                                             "tax_id": f"B{uuid.uuid4().int % 10**8:08d}"})
    contact = make("/api/v1/contacts", {"first_name": "Vicente", "last_name": f"Ferrer {tag}",
                                        "email": f"vicente.{tag}@onda.es", "account_id": account["id"]})
    contact_twin = make("/api/v1/contacts", {"first_name": "Vicent", "last_name": f"Ferrer {tag}",
                                             "email": f"v.ferrer.{tag}@ceramicasonda.es", "title": "Gerente",
                                             "account_id": account["id"]})
    return dict(tag=tag, rep=rep, account=account, account_twin=account_twin, contact=contact,
                contact_twin=contact_twin)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_merge_pages_load_clean_accessible_and_fit_a_phone(browser, system, twins, lang):
    contact, twin = twins["contact"]["id"], twins["contact_twin"]["id"]
    account, account_twin = twins["account"]["id"], twins["account_twin"]["id"]
    pages = {"contact-merge": f"/app/contacts/{contact}/merge",
             "contact-merge-pick": f"/app/contacts/{contact}/merge?other={twin}",
             "account-merge": f"/app/accounts/{account}/merge",
             "account-merge-pick": f"/app/accounts/{account}/merge?other={account_twin}"}
    for width in (1280, 375):
        page = _page(browser, width)
        _login(page, system, twins["rep"]["email"], lang)
        for name, path in pages.items():
            page.goto(system.url + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == lang
            _shot(page, name, lang, width)
            if width == 1280:
                assert _axe_violations(page) == [], name
        assert page.problems == [], page.problems
        page.close()


def test_a_contact_is_merged_from_its_page(browser, system, twins):
    contact, twin = twins["contact"], twins["contact_twin"]
    page = _page(browser)
    _login(page, system, twins["rep"]["email"])
    page.goto(f"{system.url}/app/contacts/{contact['id']}")
    page.click(f"a[href$='/app/contacts/{contact['id']}/merge']")
    page.click(f"a[href*='other={twin['id']}']")  # the duplicate is among the suggestions
    page.check("input[name=pick-title][value=other]")
    page.click("form.form button.primary")  # not confirmed yet: asked to
    assert page.locator("#e-confirm").is_visible()
    assert page.is_checked("input[name=pick-title][value=other]")  # the choice is kept
    page.problems.clear()  # the browser logs that 422 answer; nothing else may go wrong
    page.check("#f-confirm")
    page.click("form.form button.primary")
    page.wait_for_url(f"**/app/contacts/{contact['id']}?merged=1")
    assert page.locator(".notice.ok").is_visible()
    survivor = system.get(f"/api/v1/contacts/{contact['id']}").json()
    assert (survivor["title"], survivor["email"]) == ("Gerente", contact["email"])
    page.goto(f"{system.url}/app/contacts/{twin['id']}")  # the duplicate's page leads to the survivor
    assert page.url.endswith(f"/app/contacts/{contact['id']}")
    assert page.problems == []


def test_an_account_is_merged_with_the_keyboard_alone(browser, system, twins):
    account, twin = twins["account"], twins["account_twin"]
    page = _page(browser)
    _login(page, system, twins["rep"]["email"], "en")
    page.goto(f"{system.url}/app/accounts/{account['id']}/merge?other={twin['id']}")
    page.focus("input[name=pick-tax_id][value=other]")
    page.keyboard.press("Space")
    page.focus("#f-confirm")
    page.keyboard.press("Space")
    page.focus("form.form button.primary")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/app/accounts/{account['id']}?merged=1")
    survivor = system.get(f"/api/v1/accounts/{account['id']}").json()
    assert survivor["tax_id"] == twin["tax_id"] and survivor["name"] == account["name"]
    assert system.get(f"/api/v1/accounts/{twin['id']}").status in (200, 308)  # urllib may follow the 308
    assert system.get(f"/api/v1/accounts/{twin['id']}").json()["id"] == account["id"]
    assert page.problems == []
