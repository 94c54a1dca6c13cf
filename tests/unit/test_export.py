"""CSV export (CONTRACTS §9) through each service's HTTP layer, on SQLite."""
from __future__ import annotations

import csv
import io

import pytest

from shared.export import Columns, cell, escape_formula, unescape_cell
from tests.support.auth import headers


def _csv(reply) -> list[dict]:
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert reply.is_streamed
    return list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))


def test_accounts_export_has_every_matching_row_with_money_as_two_columns(sqlite_build):
    accounts = sqlite_build("accounts")
    admin = headers("admin")
    for i in range(7):
        reply = accounts.client.post("/api/v1/accounts", json={
            "name": f"Bodega {i}", "country": "ES" if i % 2 else "FR", "tags": ["vino", "rioja"],
            "annual_revenue": {"amount": f"{i}000.5", "currency": "EUR"},
            "billing_address": {"street": "Calle Mayor 1", "city": "Haro", "postal_code": "26200", "country": "ES"}},
            headers=admin)
        assert reply.status_code == 201
    rows = _csv(accounts.client.get("/api/v1/accounts/export?country=ES", headers=admin))
    assert [r["name"] for r in rows] == ["Bodega 1", "Bodega 3", "Bodega 5"]
    assert rows[0]["annual_revenue"] == "1000.50" and rows[0]["annual_revenue_currency"] == "EUR"
    assert rows[0]["billing_address_city"] == "Haro" and rows[0]["tags"] == "vino;rioja"
    assert rows[0]["created_at"].endswith("Z") and rows[0]["version"] == "1"
    assert _csv(accounts.client.get("/api/v1/accounts/export?country=PT", headers=admin)) == []


def test_a_bad_filter_is_a_422_and_no_token_a_401(sqlite_build):
    accounts = sqlite_build("accounts")
    reply = accounts.client.get("/api/v1/contacts/export?lifecycle_stage=nope", headers=headers("admin"))
    assert reply.status_code == 422 and reply.mimetype == "application/problem+json"
    assert accounts.client.get("/api/v1/contacts/export").status_code == 401


@pytest.mark.parametrize("component,path", [("opportunities", "/api/v1/opportunities/export"),
                                            ("activities", "/api/v1/activities/export?sort=-time"),
                                            ("support", "/api/v1/cases/export?status=new,open")])
def test_every_list_exports_its_header_even_when_empty(sqlite_build, component, path):
    built = sqlite_build(component)
    reply = built.client.get(path, headers=headers("readonly"))
    assert reply.status_code == 200
    header = reply.get_data(as_text=True).splitlines()[0].split(",")
    assert header[0] == "id" and "created_at" in header


def test_cells_are_rfc3339_decimal_and_formula_safe():
    from datetime import datetime, timezone
    from decimal import Decimal

    assert cell(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2026-01-02T03:04:05Z"
    assert cell(Decimal("12.5")) == "12.50" and cell(None) == "" and cell(True) == "true"
    for text in ("=SUM(A1)", "@cmd", "+cmd|' /C calc'!A0", "-x"):
        assert escape_formula(text) == "'" + text and unescape_cell(escape_formula(text)) == text
    for text in ("+34 600 000 000", "-5", "'quoted", "plain"):
        assert escape_formula(text) == text and unescape_cell(text) == text
    columns = Columns(("name", "amount", "address"), money=("amount",), address=("address",))
    assert columns.header == ["name", "amount", "amount_currency", "address_street", "address_city",
                              "address_postal_code", "address_country"]


def test_rows_stream_a_batch_at_a_time(sqlite_build):
    from services.accounts import service
    from services.accounts.export import ACCOUNT_COLUMNS
    from services.accounts.models import Account
    from shared.export import csv_lines

    accounts = sqlite_build("accounts")
    for i in range(5):
        accounts.client.post("/api/v1/accounts", json={"name": f"Bodega {i}"}, headers=headers("admin"))
    stmt = service.account_query({}).order_by(Account.created_at, Account.id)
    chunks = list(csv_lines(accounts.db, stmt, service.account_dict, ACCOUNT_COLUMNS, batch=2))
    assert len(chunks) == 4  # the header, then batches of 2, 2 and 1
    assert [r["name"] for r in csv.DictReader(io.StringIO(b"".join(chunks).decode()))] == [
        f"Bodega {i}" for i in range(5)]
