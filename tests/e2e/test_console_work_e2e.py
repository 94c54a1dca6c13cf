"""The console's pages for managers, support, marketing and admins in a real
headless Chromium against the whole system: every page in both languages and
both widths loads with no console error, no serious or critical axe-core
violation and no sideways scroll; a quota set in the console shows in the
forecast; minutes of a completed activity show on the account's 360; a case
commented and resolved changes status; a segment's live count equals the
members built; a handover started in the console completes and the leaver
can no longer log in. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import re
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_console_e2e import CHROMIUM, PASSWORD, _axe_violations, _open_whole, _page, _shot, browser  # noqa: F401

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason=f"no system Chromium at {CHROMIUM}")


def _login(page, system, email: str, password: str = PASSWORD, lang: str = "es"):
    page.goto(f"{system.url}/app/login?lang={lang}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{system.url}/app/")


def _quarter() -> str:
    today = date.today()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


@pytest.fixture(scope="module")
def office(system):
    """A team with a manager and a rep, a support agent and a marketer; an
    account with a contact, a planned meeting and an open case."""
    tag = uuid.uuid4().hex[:6]
    team = f"Oficina-{tag}"
    manager = system.make_user("manager", team=team)
    rep = system.make_user("rep", team=team, manager_id=manager["id"])
    support = system.make_user("support", team="Soporte")
    marketing = system.make_user("marketing", team="Marketing")
    as_rep = {"token": rep["email"]}
    account = system.post("/api/v1/accounts", {"name": f"Conservas {tag} S.L.", "country": "ES",
                                               "owner_id": rep["id"]}, **as_rep).json()
    contacts = [system.post("/api/v1/contacts", {
        "first_name": name, "last_name": tag, "email": f"{name.lower()}.{tag}@oficina.example",
        "account_id": account["id"], "owner_id": rep["id"], "interests": [f"atún{tag}"]}, **as_rep).json()
        for name in ("Ana", "Luis")]
    # An hour ago: the 360 lists past activities by their time, so minutes show once the meeting has begun.
    held = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    meeting = system.post("/api/v1/activities", {"type": "meeting", "subject": f"Visita {tag}", "starts_at": held,
                                                 "account_id": account["id"], "owner_id": rep["id"]}, **as_rep).json()
    case = system.post("/api/v1/cases", {"subject": f"Lote dañado {tag}", "account_id": account["id"],
                                         "priority": "high"}, token=support["email"]).json()
    return dict(tag=tag, team=team, manager=manager, rep=rep, support=support, marketing=marketing,
                account=account, contacts=contacts, meeting=meeting, case=case)


def _pages(office) -> dict[str, str]:
    return {"forecast": f"/app/forecast?team={office['team']}", "agenda": "/app/agenda",
            "agenda-plan": "/app/agenda/new", "agenda-log": "/app/agenda/log",
            "activity": f"/app/agenda/{office['meeting']['id']}", "cases": "/app/cases",
            "case": f"/app/cases/{office['case']['id']}", "case-new": "/app/cases/new", "campaigns": "/app/campaigns",
            "campaign-new": "/app/campaigns/new", "users": "/app/admin/users", "user-new": "/app/admin/users/new",
            "handover-new": "/app/admin/handovers/new", "api-clients": "/app/admin/api-clients"}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_page_loads_clean_accessible_and_fits_a_phone(browser, system, office, lang):  # noqa: F811
    for width in (1280, 375):
        page = _page(browser, width)
        _login(page, system, "admin@cadena.local", "admin", lang)
        for name, path in _pages(office).items():
            page.goto(system.url + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == lang, name
            assert page.locator("nav a[href$='/app/forecast']").count() == 1, name
            _shot(page, name, lang, width)
            if width == 1280:
                assert _axe_violations(page) == [], name
        assert page.problems == [], page.problems
        page.close()


def test_a_quota_set_in_the_console_shows_in_the_forecast(browser, system, office):  # noqa: F811
    page = _page(browser)
    _login(page, system, office["manager"]["email"])
    page.goto(f"{system.url}/app/forecast?period={_quarter()}")
    page.click("#quota summary")
    page.select_option("#f-user_id", office["rep"]["id"])
    page.fill("#f-amount_amount", "43210")
    page.click("#quota button.primary")
    page.wait_for_selector(".notice.ok")
    assert "43.210,00" in page.locator("table.stack").first.inner_text()
    answer = system.get(f"/api/v1/forecast?period={_quarter()}&owner_id={office['rep']['id']}",
                        token=office["rep"]["email"]).json()
    assert answer["quota"]["amount"] == "43210.00"
    assert page.problems == []


def test_minutes_of_an_activity_completed_in_the_agenda_show_on_the_account(browser, system, office):  # noqa: F811
    page = _page(browser)
    _login(page, system, office["rep"]["email"])
    held = datetime.fromisoformat(office["meeting"]["starts_at"]).astimezone(ZoneInfo("Europe/Madrid"))
    page.goto(f"{system.url}/app/agenda?week={held.date().isoformat()}")
    page.click(f"a[href$='/app/agenda/{office['meeting']['id']}']")
    minutes = f"Acta {office['tag']}: quieren muestras."
    page.fill("#f-outcome", "Interesados")
    page.fill("#f-notes", minutes)
    page.fill("#f-agreements", "Enviar muestras\nLlamar el viernes")
    page.click("form[action$='/complete'] button.primary")
    page.wait_for_selector(".notice.ok")
    _open_whole(page, f"{system.url}/app/accounts/{office['account']['id']}")
    activities = page.locator("#activities").inner_text()
    assert minutes in activities and "Enviar muestras" in activities


def test_a_case_commented_and_resolved_in_the_console_changes_in_the_api(browser, system, office):  # noqa: F811
    page = _page(browser)
    _login(page, system, office["support"]["email"])
    case_id = office["case"]["id"]
    page.goto(f"{system.url}/app/cases")
    page.click(f"a[href$='/app/cases/{case_id}']")
    page.fill("#f-body", "Enviamos un lote nuevo mañana.")
    page.click("form[action$='/comments'] button")
    page.wait_for_selector(".notice.ok")
    page.select_option("#f-status", "resolved")
    page.click("form[action$='/status'] button.primary")
    page.wait_for_selector(".notice.ok")
    case = system.get(f"/api/v1/cases/{case_id}", token=office["support"]["email"]).json()
    comments = system.get(f"/api/v1/cases/{case_id}/comments", token=office["support"]["email"]).json()["items"]
    assert case["status"] == "resolved" and case["first_responded_at"]
    assert [c["body"] for c in comments] == ["Enviamos un lote nuevo mañana."] and comments[0]["public"]
    assert page.locator("input[name=score]").count() == 5  # satisfaction is asked once resolved


def _live_count(page) -> int:
    found = re.search(r"(\d+)", page.locator("#segment-count").inner_text())
    return int(found.group(1)) if found else -1


def test_a_segments_live_count_equals_the_members_built(browser, system, office):  # noqa: F811
    page = _page(browser)
    _login(page, system, office["marketing"]["email"])
    page.goto(f"{system.url}/app/campaigns/new")
    page.fill("#f-name", f"Atún {office['tag']}")
    deadline = time.monotonic() + 20  # the campaigns' copy of the contacts follows events
    while True:
        page.fill("#f-interests", f"atún{office['tag']}")
        page.keyboard.press("Tab")
        page.wait_for_load_state("networkidle")
        count = _live_count(page)
        if count == 2 or time.monotonic() > deadline:
            break
        page.fill("#f-interests", "")
        time.sleep(1)
    assert count == 2
    page.click("form.form button.primary")
    page.wait_for_url(re.compile(r".*/app/campaigns/[0-9a-f-]{36}\?created=1$"))
    page.click("form[action$='/build'] button")
    page.wait_for_selector(".notice.ok")
    campaign_id = page.url.split("/app/campaigns/")[1].split("?")[0]
    built = system.get(f"/api/v1/campaigns/{campaign_id}", token=office["marketing"]["email"]).json()
    assert built["member_count"] == count


def test_a_handover_started_in_the_console_completes_and_the_leaver_cannot_log_in(browser, system, office):  # noqa: F811
    leaver = system.make_user("rep", team=office["team"], manager_id=office["manager"]["id"])
    page = _page(browser)
    _login(page, system, office["manager"]["email"])
    page.goto(f"{system.url}/app/admin/users")
    page.click(f"a[href$='/app/admin/handovers/new?from={leaver['id']}']")
    page.select_option("#f-to_user_id", office["rep"]["id"])
    page.click("form.form button.primary")
    page.wait_for_url(re.compile(r".*/app/admin/handovers/[0-9a-f-]{36}$"))
    page.wait_for_selector("#progress .all-done", timeout=30_000)  # htmx follows it until every service is done
    assert page.locator("#progress .badge.ok").count() == page.locator("#progress li").count() > 0
    reply = system.request("POST", "/api/v1/auth/token", {"email": leaver["email"], "password": PASSWORD},
                           token=None)
    assert reply.status == 401
    assert page.problems == []
