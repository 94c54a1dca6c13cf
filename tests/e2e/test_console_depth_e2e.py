"""The console's depth-of-the-domain parts (CONTRACTS §11) in a real headless
Chromium against the whole system: an account's 360 with its installed base,
recommendations and lifetime value, and a manager's day with the most
valuable customers — both languages, no console error, no serious or
critical axe-core violation, no sideways scroll on a phone; a call logged in
the agenda's one form is recorded done."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_console_e2e import CHROMIUM, _axe_violations, _open_whole, _page, _shot, browser  # noqa: F401
from tests.e2e.test_console_work_e2e import _login
from tests.support.wait import until

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason=f"no system Chromium at {CHROMIUM}")


@pytest.fixture(scope="module")
def shop(system):
    """A team whose rep won deals with catalogue products at two accounts of one industry."""
    tag = uuid.uuid4().hex[:6]
    team = f"Tienda-{tag}"
    manager = system.make_user("manager", team=team)
    rep = system.make_user("rep", team=team, manager_id=manager["id"])
    as_rep = {"token": rep["email"]}
    codes = {f"SOP-{tag}": "Soporte 24x7", f"BI-{tag}": "Cuadros de mando"}
    for code, name in codes.items():
        assert system.post("/api/v1/products", {"code": code, "name": name, "family": "Servicios",
                                                "unit_price": {"amount": "1500.00", "currency": "EUR"}}).status == 201
    industry = f"Conservas {tag}"
    accounts = [system.post("/api/v1/accounts", {"name": f"{name} {tag} S.L.", "industry": industry,
                                                 "segment": "solutions", "country": "ES", "owner_id": rep["id"]},
                            **as_rep).json() for name in ("Atunes", "Anchoas")]
    for account, owned in ((accounts[0], [f"SOP-{tag}"]), (accounts[1], list(codes))):
        deal = system.post("/api/v1/opportunities", {
            "name": f"Trato {tag}", "account_id": account["id"], "owner_id": rep["id"],
            # Atunes' deal is big enough to lead the most valuable customers whatever else this system holds
            "line_items": [{"product_code": code, "quantity": 10000 if account is accounts[0] else 1}
                           for code in owned]}, **as_rep).json()
        assert system.post(f"/api/v1/opportunities/{deal['id']}/win", {}, **as_rep).status == 200
    until(lambda: system.get(f"/api/v1/accounts/{accounts[0]['id']}/view").json().get("lifetime_value"), 20, 0.3)
    until(lambda: system.get(f"/api/v1/accounts/{accounts[0]['id']}/recommendations").json()["items"], 20, 0.3)
    return dict(tag=tag, team=team, manager=manager, rep=rep, accounts=accounts)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_360_and_my_day_show_products_and_value_cleanly(browser, system, shop, lang):  # noqa: F811
    for width in (1280, 375):
        page = _page(browser, width)
        _login(page, system, shop["manager"]["email"], lang=lang)
        for name, path in (("depth-today", "/app/"), ("depth-account", f"/app/accounts/{shop['accounts'][0]['id']}")):
            _open_whole(page, system.url + path)
            assert page.locator("html").get_attribute("lang") == lang, name
            _shot(page, name, lang, width)
            if width == 1280:
                assert _axe_violations(page) == [], name
        text = page.locator("main").inner_text()
        assert "Soporte 24x7" in text and "Cuadros de mando" in text  # installed, then recommended
        page.goto(f"{system.url}/app/")
        assert f"Atunes {shop['tag']}" in page.locator("#h-valuable").locator("..").inner_text()
        assert page.problems == [], page.problems
        page.close()


def test_a_call_logged_in_the_agenda_is_recorded_done(browser, system, shop):  # noqa: F811
    page = _page(browser)
    _login(page, system, shop["rep"]["email"])
    page.goto(f"{system.url}/app/agenda/log")
    subject = f"Llamada {shop['tag']}"
    page.fill("#f-subject", subject)
    page.fill("#f-notes", "Quieren ampliar")
    page.click("main form button.primary")
    page.wait_for_selector(".notice.ok")
    found = system.get(f"/api/v1/activities?owner_id={shop['rep']['id']}&limit=200").json()["items"]
    call = next(a for a in found if a["subject"] == subject)
    assert call["status"] == "done" and call["notes"] == "Quieren ampliar"
    assert page.problems == []
