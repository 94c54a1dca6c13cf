"""Data in and out in the console, in a real headless Chromium against the
whole system: “Export CSV” downloads the list with its filters, and the
import wizard uploads, maps, previews, runs and undoes, each step keyboard-
and axe-clean (no serious or critical violation), in Spanish and English."""
from __future__ import annotations

import csv
import io
import uuid

import pytest

from tests.e2e.test_console_e2e import CHROMIUM, _axe_violations, _login, _page, _shot, browser  # noqa: F401
from tests.support.wait import until

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="no system Chromium")


@pytest.fixture(scope="module")
def rep(system):
    return system.make_user("rep", team=f"Datos-{uuid.uuid4().hex[:6]}")


def _people(tmp_path, tag: str):
    source = tmp_path / "gente.csv"
    source.write_text(f"Nombre;Correo;Talla\nAna;ana.{tag}@consola.example;42\nLuis;no-es-correo;40\n", encoding="utf-8")
    return source


def _step(page, step: str, lang: str, width: int) -> None:
    """Each step of the wizard, once it has loaded: its screenshot kept, nothing scrolling sideways."""
    page.wait_for_load_state("networkidle")
    _shot(page, f"import-{step}", lang, width)


def _upload(page, system, source) -> None:
    page.goto(f"{system.url}/app/imports")
    page.select_option("#f-kind", "contacts")
    page.set_input_files("#f-file", str(source))
    page.click("main button[type=submit]")
    page.wait_for_url("**/map")


@pytest.mark.parametrize("lang", ["es", "en"])
def test_import_wizard_upload_map_preview_run_and_undo(browser, system, rep, lang, tmp_path):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    source = _people(tmp_path, tag)
    page = _page(browser)
    _login(page, system, rep["email"], lang)
    page.goto(f"{system.url}/app/imports")
    _step(page, "upload", lang, 1280)
    assert _axe_violations(page) == []
    _upload(page, system, source)
    _step(page, "map", lang, 1280)
    assert _axe_violations(page) == []
    # guessed from what people call the fields; a column that is none of them is left to skip
    assert [page.locator(f"#f-col-{i}").input_value() for i in range(3)] == ["first_name", "email", ""]
    page.select_option("#f-col-0", "first_name")
    page.select_option("#f-col-1", "email")
    page.select_option("#f-col-2", "")
    page.keyboard.press("Tab")
    page.click("main button[type=submit]")
    page.wait_for_selector(".all-done")
    _step(page, "preview", lang, 1280)
    assert _axe_violations(page) == []
    assert page.locator("dl.figures dd").nth(1).inner_text() == "1" and "email" in page.locator("table").inner_text()
    # the row's reason in the user's language, as the API gave it
    assert ("arroba" if lang == "es" else "@-sign") in page.locator("table").inner_text()
    assert system.get(f"/api/v1/contacts?email=ana.{tag}@consola.example", token=rep["email"]).json()["items"] == []
    page.click("form[action$='/run'] button")
    page.wait_for_selector("form[action$='/undo']")
    _step(page, "done", lang, 1280)
    assert _axe_violations(page) == []
    contacts = system.get(f"/api/v1/contacts?email=ana.{tag}@consola.example", token=rep["email"]).json()["items"]
    assert len(contacts) == 1 and contacts[0]["owner_id"] == rep["id"]
    page.click("form[action$='/undo'] button")
    page.wait_for_load_state("networkidle")
    until(lambda: system.get(f"/api/v1/contacts/{contacts[0]['id']}").status == 404, timeout=10)
    assert page.problems == [], page.problems
    page.close()


def test_the_import_wizard_fits_a_phone(browser, system, rep, tmp_path):  # noqa: F811
    """Upload, map and preview at a phone's width: nothing scrolls sideways, the refused row's reason shows."""
    page = _page(browser, 375)
    _login(page, system, rep["email"], "es")
    page.goto(f"{system.url}/app/imports")
    _step(page, "upload", "es", 375)
    _upload(page, system, _people(tmp_path, uuid.uuid4().hex[:6]))
    _step(page, "map", "es", 375)
    page.select_option("#f-col-0", "first_name")
    page.select_option("#f-col-1", "email")
    page.click("main button[type=submit]")
    page.wait_for_selector(".all-done")
    _step(page, "preview", "es", 375)
    assert "email" in page.locator("table").inner_text()
    assert page.problems == [], page.problems
    page.close()


def test_export_csv_downloads_the_list_with_its_filters(browser, system, rep):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    for stage in ("prospect", "active_customer"):
        reply = system.post("/api/v1/contacts", {"first_name": f"Export {tag}", "last_name": stage,
                                                 "lifecycle_stage": stage, "owner_id": rep["id"]}, token=rep["email"])
        assert reply.status == 201, reply.body
    page = _page(browser)
    _login(page, system, rep["email"])
    page.goto(f"{system.url}/app/contacts?q=Export+{tag}&lifecycle_stage=active_customer")
    with page.expect_download() as download:
        page.click("#results .export a")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [(r["first_name"], r["lifecycle_stage"]) for r in rows] == [(f"Export {tag}", "active_customer")]
    page.close()
