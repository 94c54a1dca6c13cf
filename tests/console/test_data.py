"""“Export CSV” on the list pages and the import wizard, against the faked API."""
from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest

from tests.console.fake_api import USER_ID

IMPORT_ID = "77777777-7777-4777-8777-777777777777"


def job(**changes) -> dict:
    body = {"id": IMPORT_ID, "kind": "contacts", "status": "done", "dry_run": True, "match": "email", "total": 3,
            "processed": 3, "created": 2, "updated": 0, "failed": 1,
            "errors": [{"row": 3, "errors": {"email": ["Not a valid e-mail address."]}}], "errors_truncated": False,
            "failure": None, "created_at": "2026-11-27T09:00:00+00:00", "started_at": "2026-11-27T09:00:01+00:00",
            "finished_at": "2026-11-27T09:00:02+00:00", "undo_until": None, "undone_at": None}
    body.update(changes)
    return body


@pytest.fixture
def uploads(app, tmp_path):
    settings = app.extensions["console.settings"]
    app.extensions["console.settings"] = dataclasses.replace(settings, upload_dir=str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("page,kind,wanted", [
    ("/accounts?country=ES&segment=relational", "accounts", {"country": "ES", "segment": "relational"}),
    ("/contacts?lifecycle_stage=prospect", "contacts", {"lifecycle_stage": "prospect"}),
    ("/pipeline?owner_id=" + USER_ID, "opportunities", {"status": "open", "owner_id": USER_ID}),
    ("/cases", "cases", {"status": "new,open,pending"}),
    ("/agenda", "activities", {"owner_id": USER_ID, "sort": "time"}),
])
def test_every_list_page_exports_with_its_filters(signed_in, fake, page, kind, wanted):
    html = signed_in.get(page).get_data(as_text=True)
    [href] = re.findall(r'href="(/export/%s\.csv[^"]*)"' % kind, html)
    fake.on("GET", f"/api/v1/{kind}/export", 200, b"id,name\r\n1,Bodegas\r\n")
    reply = signed_in.get(href.replace("&amp;", "&"))
    assert reply.status_code == 200 and reply.is_streamed
    assert reply.get_data() == b"id,name\r\n1,Bodegas\r\n" and reply.mimetype == "text/csv"
    sent = fake.called("GET", f"/api/v1/{kind}/export")[-1]
    assert {k: v[0] for k, v in sent["query"].items() if k in wanted} == wanted
    assert sent["headers"]["Authorization"].startswith("Bearer ")


def test_an_export_the_api_refuses_is_an_error_page(signed_in, fake):
    fake.on("GET", "/api/v1/cases/export", 422, {"status": 422, "detail": "bad filter"})
    assert signed_in.get("/export/cases.csv?priority=x").status_code == 400
    assert signed_in.get("/export/invoices.csv").status_code == 404


def test_upload_map_preview_start_and_undo(signed_in, fake, uploads):
    page = signed_in.get("/imports")
    assert page.status_code == 200 and 'type="file"' in page.get_data(as_text=True)
    csv = "Nombre,email,Zapato\nAna,ana@x.es,42\n".encode()
    reply = signed_in.post("/imports", data={"kind": "contacts", "file": (io.BytesIO(csv), "gente.csv")},
                           content_type="multipart/form-data")
    assert reply.status_code == 303
    mapping_url = reply.headers["Location"]
    html = signed_in.get(mapping_url).get_data(as_text=True)
    assert 'for="f-col-0"' in html and re.search(r'<option value="email" selected>', html)
    assert re.search(r'<option value="first_name" selected>Nombre \(first_name\)</option>', html)  # guessed
    fake.on("POST", "/api/v1/imports", 202, {"import_id": IMPORT_ID})
    reply = signed_in.post(mapping_url, data={"col-0": "first_name", "col-1": "email", "col-2": "", "match": "email"})
    assert reply.status_code == 303
    sent = fake.called("POST", "/api/v1/imports")[-1]
    assert sent["query"]["dry_run"] == ["true"] and sent["query"]["match"] == ["email"]
    assert json.loads(sent["query"]["mapping"][0]) == {"Nombre": "first_name", "Zapato": None}
    assert sent["body"] == csv.decode() and sent["headers"]["Content-Type"] == "text/csv"
    fake.on("GET", f"/api/v1/imports/{IMPORT_ID}", 200, job())
    preview = signed_in.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Not a valid e-mail address." in preview and "/run" in preview
    token = mapping_url.split("/")[-2]
    started = signed_in.post(f"/imports/{token}/run")
    assert started.status_code == 303 and fake.called("POST", "/api/v1/imports")[-1]["query"]["dry_run"] == ["false"]
    assert not list(uploads.glob("*.csv"))  # the file is gone once sent
    fake.on("GET", f"/api/v1/imports/{IMPORT_ID}", 200, job(dry_run=False, undo_until="2026-11-28T09:00:00+00:00"))
    assert "/undo" in signed_in.get(f"/imports/{IMPORT_ID}").get_data(as_text=True)
    fake.on("DELETE", f"/api/v1/imports/{IMPORT_ID}", 204, None)
    assert signed_in.post(f"/imports/{IMPORT_ID}/undo").status_code == 303
    assert fake.called("DELETE", f"/api/v1/imports/{IMPORT_ID}")


def test_a_running_import_polls_and_a_bad_mapping_shows_the_apis_reasons(signed_in, fake, uploads):
    fake.on("GET", f"/api/v1/imports/{IMPORT_ID}", 200, job(status="running", processed=1))
    html = signed_in.get(f"/imports/{IMPORT_ID}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html
    reply = signed_in.post("/imports", data={"kind": "contacts", "file": (io.BytesIO(b"x\n1\n"), "a.csv")},
                           content_type="multipart/form-data")
    fake.on("POST", "/api/v1/imports", 422, {"status": 422, "detail": "Unknown column",
                                             "errors": {"body": ["Unknown column: x."]}})
    answer = signed_in.post(reply.headers["Location"], data={"col-0": "x"})
    assert answer.status_code == 422 and "Unknown column: x." in answer.get_data(as_text=True)


def test_an_empty_upload_is_refused_beside_the_field(signed_in, uploads):
    reply = signed_in.post("/imports", data={"kind": "contacts", "file": (io.BytesIO(b""), "a.csv")},
                           content_type="multipart/form-data")
    assert reply.status_code == 422 and 'id="e-file"' in reply.get_data(as_text=True)


def test_readonly_users_see_no_import(sign_in):
    client = sign_in("readonly")
    assert client.get("/imports").status_code == 403
    assert 'href="/imports"' not in client.get("/contacts").get_data(as_text=True)


def test_the_wizard_offers_the_fields_the_services_take():
    from console.pages.imports import FIELDS
    from services.accounts.imports import REGISTRY as ACCOUNTS
    from services.opportunities.imports import REGISTRY as DEALS

    for kind, registry in (("accounts", ACCOUNTS), ("contacts", ACCOUNTS), ("opportunities", DEALS)):
        spec = registry.kinds[kind].spec
        assert set(FIELDS[kind]) == set(spec.writable_columns) | {"id"}, kind


def test_columns_are_guessed_from_what_people_call_them():
    from console.import_columns import guesses, plain

    assert plain("  Correo electrónico ") == "correo electronico" and plain("E-Mail_Address") == "e mail address"
    header = ["Nombre", "Apellidos", "Correo electrónico", "Teléfono móvil", "Móvil", "Cargo", "Talla", "E-mail"]
    assert guesses("contacts", header) == ["first_name", "last_name", "email", "phone", "", "title", "", ""]
    assert guesses("accounts", ["Razón social", "NIF/CIF", "Página web", "C.P.", "Nombre", "Talla"]) == \
        ["name", "tax_id", "website", "billing_address_postal_code", "", ""]  # a second column for name: theirs
    assert guesses("opportunities", ["Deal name", "Amount", "Close date", "Stage"]) == \
        ["name", "amount", "close_date", "stage"]
    assert guesses("contacts", ["first_name", "EMAIL", "lifecycle stage"]) == ["first_name", "email", "lifecycle_stage"]


def test_every_field_has_a_label_and_every_name_people_use_is_a_field_of_its_kind():
    from console.import_columns import FIELDS, LABELS, SAID

    assert all(code in LABELS for fields in FIELDS.values() for code in fields)
    for kind, said in SAID.items():
        assert set(said) <= set(FIELDS[kind]), kind
