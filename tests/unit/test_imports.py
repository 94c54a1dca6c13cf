"""CSV imports (CONTRACTS §9) on SQLite: the request's checks, the rows'
checks with their row numbers, mapping, match, dry run and undo."""
from __future__ import annotations

import csv
import io
import json
import uuid
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from shared.auth import upsert_user
from shared.imports import run_pending
from tests.support.auth import headers

ADMIN_ID = str(uuid.uuid4())


def post_import(built, body: str, kind="contacts", who=None, content_type="text/csv", **params):
    query = "&".join(f"{k}={quote(str(v))}" for k, v in {"kind": kind, **params}.items())
    return built.client.post(f"/api/v1/imports?{query}", data=body.encode(),
                             headers={**(who or headers("admin", ADMIN_ID)), "Content-Type": content_type})


def run_jobs(built):
    from services.accounts.imports import REGISTRY

    run_pending(built.db, REGISTRY.tables, REGISTRY.kinds, "EUR", batch=3)


def imported(built, body: str, **params) -> dict:
    reply = post_import(built, body, **params)
    assert reply.status_code == 202, reply.get_json()
    assert reply.headers["Location"] == f"/api/v1/imports/{reply.get_json()['import_id']}"
    run_jobs(built)
    status = built.client.get(reply.headers["Location"], headers=headers("admin", ADMIN_ID))
    assert status.status_code == 200
    return status.get_json()


def count(built, table: str) -> int:
    with built.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(built.db.metadata.tables[table]))


CONTACTS = """first_name,last_name,email,lifecycle_stage,interests
Ana,García,ana@example.com,,vino;queso
Luis,,not-an-email,,
Marta,Pérez,marta@example.com,active_customer,
,,,,
Jon,Ruiz,jon@example.com,nonsense,
Eva,Sanz,ana@example.com,,
"""


def test_bad_rows_are_reported_with_their_file_row_numbers_and_the_rest_applied(accounts):
    job = imported(accounts, CONTACTS)
    assert (job["status"], job["total"], job["created"], job["updated"], job["failed"]) == ("done", 6, 2, 0, 4)
    rows = {e["row"]: e["errors"] for e in job["errors"]}
    assert set(rows) == {3, 5, 6, 7}
    assert "email" in rows[3] and "first_name" in rows[5] and "lifecycle_stage" in rows[6]
    assert rows[7] == {"email": ["The same email as row 2."]}  # whichever batch each fell in
    assert count(accounts, "contacts") == 2 and count(accounts, "outbox") == 2
    listed = accounts.client.get("/api/v1/contacts?email=ana@example.com", headers=headers("admin")).get_json()
    assert listed["items"][0]["interests"] == ["vino", "queso"] and listed["items"][0]["owner_id"] == ADMIN_ID
    errors = accounts.client.get(f"/api/v1/imports/{job['id']}/errors.csv", headers=headers("admin", ADMIN_ID))
    table = list(csv.reader(io.StringIO(errors.get_data(as_text=True))))
    assert table[0] == ["row", "errors", "first_name", "last_name", "email", "lifecycle_stage", "interests"]
    assert [r[0] for r in table[1:]] == ["3", "5", "6", "7"] and table[1][2:4] == ["Luis", ""]


def test_a_repeat_within_a_batch_names_the_earlier_row(accounts):
    job = imported(accounts, "email\nana@example.com\nANA@example.com\n")
    assert job["errors"] == [{"row": 3, "errors": {"email": ["The same email as row 2."]}}]


def test_match_on_email_updates_the_live_contact_instead_of_duplicating_it(accounts):
    imported(accounts, CONTACTS)
    job = imported(accounts, "email,title,lifecycle_stage\nANA@example.com,CEO,potential_customer\n"
                             "new@example.com,CTO,\n", match="email")
    assert (job["created"], job["updated"], job["failed"]) == (1, 1, 0)
    ana = accounts.client.get("/api/v1/contacts?email=ana@example.com", headers=headers("admin")).get_json()["items"]
    assert len(ana) == 1 and ana[0]["title"] == "CEO" and ana[0]["version"] == 2 and ana[0]["first_name"] == "Ana"
    with accounts.db.sessions() as session:
        keys = list(session.scalars(select(accounts.db.tables.outbox.c.routing_key).order_by(accounts.db.tables.outbox.c.id)))
    assert sorted(keys[-3:]) == ["accounts.contact.created", "accounts.contact.lifecycle_changed",
                                 "accounts.contact.updated"]


def test_mapping_renames_and_skips_columns(accounts):
    job = imported(accounts, "Nombre;Correo;Notas internas\nAna;ana@example.com;x\n",
                   mapping=json.dumps({"Nombre": "first_name", "Correo": "email", "Notas internas": None}))
    assert job["created"] == 1 and job["failed"] == 0


def test_a_dry_run_counts_and_changes_nothing(accounts):
    job = imported(accounts, CONTACTS, dry_run="true")
    assert (job["dry_run"], job["created"], job["failed"]) == (True, 2, 4)
    assert count(accounts, "contacts") == 0 and count(accounts, "outbox") == 0


def test_undo_soft_deletes_what_the_import_created_and_publishes_deleted(accounts):
    job = imported(accounts, CONTACTS)
    reply = accounts.client.delete(f"/api/v1/imports/{job['id']}", headers=headers("admin", ADMIN_ID))
    assert reply.status_code == 204
    assert accounts.client.get("/api/v1/contacts", headers=headers("admin")).get_json()["items"] == []
    with accounts.db.sessions() as session:
        outbox = accounts.db.tables.outbox
        deleted = session.scalar(select(func.count()).where(outbox.c.routing_key == "accounts.contact.deleted"))
    assert deleted == 2
    again = accounts.client.get(f"/api/v1/imports/{job['id']}", headers=headers("admin", ADMIN_ID)).get_json()
    assert again["undone_at"] is not None


def test_accounts_import_with_money_address_and_tax_id_match(accounts):
    body = ("name,tax_id,annual_revenue,annual_revenue_currency,billing_address_city,tags\n"
            "Bodegas Uno,B111,1000.50,,Haro,vino\nBodegas Dos,B222,12.345,EUR,,\n")
    job = imported(accounts, body, kind="accounts")
    assert (job["created"], job["failed"]) == (1, 1)
    assert job["errors"][0]["row"] == 3 and "annual_revenue.amount" in job["errors"][0]["errors"]
    again = imported(accounts, "name,tax_id\nBodegas Uno Renamed,b111\n", kind="accounts", match="tax_id")
    assert (again["created"], again["updated"]) == (0, 1)
    items = accounts.client.get("/api/v1/accounts", headers=headers("admin")).get_json()["items"]
    assert [(a["name"], a["annual_revenue"], a["billing_address"]["city"]) for a in items] == [
        ("Bodegas Uno Renamed", {"amount": "1000.50", "currency": "EUR"}, "Haro")]


def test_an_export_imports_back(accounts):
    imported(accounts, CONTACTS)
    exported = accounts.client.get("/api/v1/contacts/export", headers=headers("admin")).get_data(as_text=True)
    job = imported(accounts, exported, match="id")
    assert (job["created"], job["updated"], job["failed"]) == (0, 2, 0)


@pytest.mark.parametrize("params,body,content_type,status,field", [
    ({"kind": "deals"}, "email\na@b.es\n", "text/csv", 422, "kind"),
    ({"match": "phone"}, "email\na@b.es\n", "text/csv", 422, "match"),
    ({"match": "email"}, "first_name\nAna\n", "text/csv", 422, "match"),
    ({"mapping": "{nope"}, "email\na@b.es\n", "text/csv", 422, "mapping"),
    ({"mapping": '{"email": "mail"}'}, "email\na@b.es\n", "text/csv", 422, "mapping"),
    ({"mapping": '{"Correo": "email"}'}, "email\na@b.es\n", "text/csv", 422, "mapping"),
    ({}, "", "text/csv", 422, "body"),
    ({}, "shoe_size\n42\n", "text/csv", 422, "body"),
    ({}, '{"email": "a@b.es"}', "application/json", 415, None),
    ({"dry_run": "maybe"}, "email\na@b.es\n", "text/csv", 422, "dry_run"),
])
def test_a_bad_request_is_a_problem_and_creates_nothing(accounts, params, body, content_type, status, field):
    params = {"kind": "contacts", **params}
    reply = post_import(accounts, body, content_type=content_type, **params)
    assert reply.status_code == status and reply.mimetype == "application/problem+json", reply.get_json()
    if field:
        assert field in reply.get_json()["errors"]
    assert count(accounts, "imports") == 0


def test_who_may_import(accounts):
    assert post_import(accounts, "email\na@b.es\n", who=headers("readonly")).status_code == 403
    assert post_import(accounts, "email\na@b.es\n", who=headers("support")).status_code == 403
    rep_id = str(uuid.uuid4())
    with accounts.db.transaction() as uow:
        upsert_user(uow.session, accounts.db, {"id": rep_id, "email": "r@x.es", "name": "R", "role": "rep",
                                               "team": "Iberia", "active": True})
    rep = headers("rep", rep_id, "Iberia")
    reply = post_import(accounts, f"email,owner_id\nmine@x.es,\ntheirs@x.es,{ADMIN_ID}\n", who=rep)
    assert reply.status_code == 202
    run_jobs(accounts)
    job = accounts.client.get(reply.headers["Location"], headers=rep).get_json()
    assert (job["created"], job["failed"]) == (1, 1) and "owner_id" in job["errors"][0]["errors"]
    assert accounts.client.get(reply.headers["Location"], headers=headers("rep")).status_code == 403


def test_opportunities_import_needs_known_accounts_and_keeps_the_pipeline(sqlite_build):
    from services.opportunities.imports import REGISTRY
    from services.opportunities.replica import upsert_account

    opps = sqlite_build("opportunities")
    account_id = str(uuid.uuid4())
    with opps.db.transaction() as uow:
        upsert_account(uow.session, {"id": account_id, "name": "Bodegas Uno", "version": 1})
    body = (f"name,account_id,amount,amount_currency,stage\nVendimia,{account_id},1200.00,EUR,proposal\n"
            f"Sin cuenta,{uuid.uuid4()},10,EUR,\nCerrada,{account_id},5,EUR,closed_won\n")
    reply = post_import(opps, body, kind="opportunities")
    assert reply.status_code == 202
    run_pending(opps.db, REGISTRY.tables, REGISTRY.kinds, "EUR")
    job = opps.client.get(reply.headers["Location"], headers=headers("admin", ADMIN_ID)).get_json()
    assert (job["created"], job["failed"]) == (1, 2)
    assert {e["row"]: sorted(e["errors"]) for e in job["errors"]} == {3: ["account_id"], 4: ["stage"]}
    pipeline = opps.client.get("/api/v1/pipeline", headers=headers("admin")).get_json()
    assert pipeline["totals"]["count"] == 1 and pipeline["totals"]["amount"]["amount"] == "1200.00"
    assert opps.client.delete(reply.headers["Location"], headers=headers("admin", ADMIN_ID)).status_code == 204
    assert opps.client.get("/api/v1/pipeline", headers=headers("admin")).get_json()["totals"]["count"] == 0
    assert post_import(opps, body, kind="contacts").status_code == 422


def test_a_new_contacts_event_is_what_the_api_shows():
    from datetime import datetime, timezone

    from services.accounts import schemas
    from services.accounts.imports import contact_payload

    now = datetime(2026, 11, 27, 9, 30, 1, 123456, tzinfo=timezone.utc)
    values = {"id": str(uuid.uuid4()), "version": 1, "created_at": now, "updated_at": now, "first_name": "Ana",
              "last_name": "García", "nickname": None, "email": "ana@x.es", "phone": "+34 600", "title": None,
              "account_id": str(uuid.uuid4()), "role": "user", "reports_to_id": None, "lifecycle_stage": "prospect",
              "owner_id": ADMIN_ID, "interests": ["vino"], "notes": None, "lifecycle_changed_at": now,
              "deleted_at": None}
    assert contact_payload(values) == schemas.ContactOut().dump({**values, "name": "Ana García"})
