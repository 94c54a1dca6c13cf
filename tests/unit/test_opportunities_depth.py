"""Opportunities' depth of the domain (CONTRACTS §11) on SQLite: the product
catalogue and lines named from it, exchange rates and converted totals, the
installed base and explainable recommendations."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from services.opportunities import currency, installed_base, replica
from tests.support.auth import headers
from tests.unit.test_opportunities_api import ACCOUNT, ADMIN, MANAGER, REP, create, events, opps  # noqa: F401

REP_H = headers("rep", REP, "Iberia")
MANAGER_H = headers("manager", MANAGER, "Iberia")


def product(built, code="ERP-LIC", name="Licencia ERP", family="Software", price="450.00", who=ADMIN, **extra):
    body = {"code": code, "name": name, "family": family, **extra}
    if price is not None:
        body["unit_price"] = {"amount": price, "currency": "EUR"}
    return built.client.post("/api/v1/products", json=body, headers=who)


def rate(built, code, value, who=ADMIN):
    return built.client.put(f"/api/v1/exchange-rates/{code}", json={"rate": value, "as_of": "2026-11-02"},
                            headers=who)


def win(built, deal_id):
    reply = built.client.post(f"/api/v1/opportunities/{deal_id}/win", json={}, headers=ADMIN)
    assert reply.status_code == 200, reply.get_json()


# -- pure rules ---------------------------------------------------------------------------

def test_conversion_is_exact_and_rounded_once_half_even():
    rates = {"USD": Decimal("0.925"), "GBP": Decimal("1.15")}
    # 10.01 USD × 0.925 = 9.25925 ; 0.03 GBP × 1.15 = 0.0345 ; + 0.0005 EUR → 9.29425 → 9.29
    assert currency.convert_total({"USD": Decimal("10.01"), "GBP": Decimal("0.03"), "EUR": Decimal("0.0005")},
                                  rates, "EUR") == Decimal("9.29")
    assert currency.convert_total({"EUR": Decimal("0.125")}, {}, "EUR") == Decimal("0.12")  # half-even
    assert currency.convert_total({"EUR": Decimal("0.135")}, {}, "EUR") == Decimal("0.14")
    # summing rounded parts would give 0.02; the exact sum is 0.015 → 0.02 (even) and 0.025 → 0.02
    assert currency.convert_total({"USD": Decimal("0.01"), "EUR": Decimal("0.015")}, {"USD": Decimal("1")},
                                  "EUR") == Decimal("0.02")


def test_a_missing_rate_is_needed_only_for_a_part_worth_something():
    with pytest.raises(currency.MissingRate) as exc:
        currency.convert_total({"USD": Decimal("1"), "MXN": Decimal("2"), "GBP": Decimal("0")}, {}, "EUR")
    assert exc.value.currencies == ["MXN", "USD"]


def test_recommendations_rank_by_owners_and_explain_themselves():
    class P:
        def __init__(self, name, active=True):
            self.name, self.family, self.unit_price, self.currency, self.active = name, "F", None, None, active

    catalogue = {"A": P("Alpha"), "B": P("Beta"), "C": P("Gamma", active=False), "D": P("Delta")}
    found = [installed_base.Candidate("A", 2, 2, 0), installed_base.Candidate("B", 3, 1, 3),
             installed_base.Candidate("C", 9, 9, 9), installed_base.Candidate("D", 2, 1, 1),
             installed_base.Candidate("Z", 5, 5, 5)]  # not in the catalogue
    ranked = installed_base.rank(found, catalogue, "Construcción", "solutions", limit=10)
    assert [r["product_code"] for r in ranked] == ["B", "A", "D"]
    assert ranked[0]["owners"] == 3
    assert ranked[0]["reason"] == ("3 similar accounts own it (1 in the Construcción industry and 3 in the "
                                   "solutions segment) from won deals, and this account does not.")
    assert installed_base.rank(found, catalogue, None, "solutions", limit=1)[0]["product_code"] == "B"


# -- the catalogue --------------------------------------------------------------------------

def test_products_are_managed_by_managers_and_unique_by_code(opps):
    made = product(opps, who=MANAGER_H)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["code"] == "ERP-LIC" and body["active"] is True and body["unit_price"]["amount"] == "450.00"
    assert made.headers["Location"] == f"/api/v1/products/{body['id']}"
    again = product(opps, code="erp-lic")
    assert again.status_code == 409 and again.get_json()["existing_id"] == body["id"]
    assert product(opps, code="X-1", who=REP_H).status_code == 403
    assert product(opps, code="bad code!").status_code == 422
    changed = opps.client.patch(f"/api/v1/products/{body['id']}", json={"active": False},
                                headers={**ADMIN, "If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    assert opps.client.get("/api/v1/products?active=true", headers=REP_H).get_json()["items"] == []
    assert opps.client.delete(f"/api/v1/products/{body['id']}", headers=ADMIN).status_code == 204
    assert opps.client.get(f"/api/v1/products/{body['id']}", headers=ADMIN).status_code == 404
    kinds = [e["type"] for e in events(opps) if e["type"].startswith("opportunities.product.")]
    assert kinds == ["opportunities.product.created", "opportunities.product.updated",
                     "opportunities.product.deleted"]


def test_a_catalogued_line_is_named_from_the_catalogue_and_a_free_text_line_stays_as_it_was(opps):
    product(opps)
    reply = create(opps, amount=None, line_items=[
        {"product_code": "ERP-LIC", "quantity": 2},
        {"product_code": "ERP-LIC", "description": "Licencias extra", "quantity": 1,
         "unit_price": {"amount": "400.00", "currency": "EUR"}},
        {"product_code": "OLD-42", "description": "Algo a medida", "quantity": 1,
         "unit_price": {"amount": "10.00", "currency": "EUR"}}])
    assert reply.status_code == 201, reply.get_json()
    lines = reply.get_json()["line_items"]
    assert lines[0] == {"product_code": "ERP-LIC", "description": "Licencia ERP", "name": "Licencia ERP",
                        "family": "Software", "quantity": 2, "unit_price": {"amount": "450.00", "currency": "EUR"},
                        "total": {"amount": "900.00", "currency": "EUR"}}
    assert (lines[1]["name"], lines[1]["description"]) == ("Licencia ERP", "Licencias extra")
    assert (lines[2]["name"], lines[2]["family"]) == ("Algo a medida", None)
    assert reply.get_json()["amount"]["amount"] == "1310.00"
    no_price = create(opps, amount=None, line_items=[{"product_code": "OLD-42", "quantity": 1}])
    assert no_price.status_code == 422 and "line_items.0.unit_price" in no_price.get_json()["errors"]


# -- rates and converted totals --------------------------------------------------------------

def test_rates_are_set_by_managers_per_currency_against_the_base(opps):
    first = rate(opps, "USD", "0.92")
    assert first.status_code == 201 and first.get_json()["rate"] == "0.92"
    assert first.get_json()["as_of"].startswith("2026-11-02T00:00:00")
    assert rate(opps, "usd", "0.9").status_code == 200
    assert rate(opps, "EUR", "1").status_code == 422           # the base currency
    assert rate(opps, "XXY", "1").status_code == 422
    assert rate(opps, "GBP", "-1").status_code == 422
    assert rate(opps, "GBP", 1.5).status_code == 422           # never a float
    assert rate(opps, "GBP", "1.1", who=REP_H).status_code == 403
    listed = opps.client.get("/api/v1/exchange-rates", headers=REP_H).get_json()
    assert listed["base_currency"] == "EUR" and [r["currency"] for r in listed["items"]] == ["USD"]
    assert listed["items"][0]["rate"] == "0.9" and listed["items"][0]["version"] == 2
    published = [e["data"] for e in events(opps, "opportunities.exchange_rate.updated")]
    assert [p["rate"] for p in published] == ["0.92", "0.9"]


def test_pipeline_and_forecast_convert_every_deal_into_the_base_currency(opps):
    create(opps, amount={"amount": "1000.00", "currency": "EUR"}, stage="proposal", close_date="2026-11-10")
    create(opps, amount={"amount": "10.01", "currency": "USD"}, stage="proposal", close_date="2026-11-12")
    missing = opps.client.get("/api/v1/pipeline", headers=ADMIN)
    assert missing.status_code == 409
    assert missing.get_json()["currency"] == "USD" and "USD" in missing.get_json()["detail"]
    rate(opps, "USD", "0.925")
    body = opps.client.get("/api/v1/pipeline", headers=ADMIN).get_json()
    assert body["currency"] == "EUR" and body["rates"] == {"USD": "0.925"}
    # 1000 + 10.01 × 0.925 = 1009.25925 → 1009.26; weighted (50 %) 504.629625 → 504.63
    assert body["totals"]["amount"] == {"amount": "1009.26", "currency": "EUR"}
    assert body["totals"]["weighted_amount"]["amount"] == "504.63"
    assert opps.client.get("/api/v1/pipeline?currency=USD", headers=ADMIN).get_json()["totals"]["amount"] == \
        {"amount": "10.01", "currency": "USD"}
    opps.client.put(f"/api/v1/quotas/{REP}/2026-11", json={"amount": {"amount": "100.00", "currency": "USD"}},
                    headers=ADMIN)
    forecast = opps.client.get("/api/v1/forecast?period=2026-11", headers=ADMIN).get_json()
    assert forecast["currency"] == "EUR" and forecast["best_case"]["amount"] == "1009.26"
    assert forecast["quota"]["amount"] == "92.50"


# -- installed base and recommendations ------------------------------------------------------

def _account(built, industry=None, segment=None) -> str:
    account_id = str(uuid.uuid4())
    with built.db.transaction() as uow:
        replica.upsert_account(uow.session, {"id": account_id, "name": f"Cliente {account_id[:4]}",
                                             "industry": industry, "segment": segment, "version": 1})
    return account_id


def _won(built, account_id, *lines):
    reply = create(built, account_id=account_id, amount=None, line_items=[
        {"product_code": code, "quantity": qty, "unit_price": {"amount": "100.00", "currency": "EUR"}}
        for code, qty in lines])
    assert reply.status_code == 201, reply.get_json()
    win(built, reply.get_json()["id"])


def test_the_installed_base_sums_won_lines_per_product(opps):
    product(opps, code="SOP-24", name="Soporte 24x7", family="Servicios")
    _won(opps, ACCOUNT, ("SOP-24", 1), ("HW-TPV", 4))
    _won(opps, ACCOUNT, ("SOP-24", 2))
    create(opps, line_items=[{"product_code": "ERP-LIC", "quantity": 1,
                              "unit_price": {"amount": "1.00", "currency": "EUR"}}], amount=None)  # open: not owned
    body = opps.client.get(f"/api/v1/accounts/{ACCOUNT}/products", headers=REP_H).get_json()
    items = {i["product_code"]: i for i in body["items"]}
    assert set(items) == {"SOP-24", "HW-TPV"}
    assert (items["SOP-24"]["name"], items["SOP-24"]["quantity"], items["SOP-24"]["deals"]) == ("Soporte 24x7", 3, 2)
    assert items["SOP-24"]["first_won_at"] <= items["SOP-24"]["last_won_at"]
    assert opps.client.get(f"/api/v1/accounts/{uuid.uuid4()}/products", headers=ADMIN).status_code == 404


def test_recommendations_come_from_accounts_of_the_same_industry_or_segment(opps):
    for code in ("CRM", "BI", "ERP", "HW"):
        product(opps, code=code, name=code.title())
    me = _account(opps, "Construcción", "solutions")
    _won(opps, me, ("ERP", 1))
    _won(opps, _account(opps, "construcción", "relational"), ("CRM", 1), ("ERP", 1))
    _won(opps, _account(opps, "Retail", "solutions"), ("CRM", 1), ("BI", 1))
    _won(opps, _account(opps, "Retail", "transactional"), ("HW", 1))  # not a peer
    body = opps.client.get(f"/api/v1/accounts/{me}/recommendations", headers=REP_H).get_json()
    assert [(i["product_code"], i["owners"]) for i in body["items"]] == [("CRM", 2), ("BI", 1)]
    assert body["items"][0]["same_industry"] == 1 and body["items"][0]["same_segment"] == 1
    assert "2 similar accounts own it" in body["items"][0]["reason"]
    assert opps.client.get(f"/api/v1/accounts/{me}/recommendations?limit=0", headers=REP_H).status_code == 422
