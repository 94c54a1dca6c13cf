"""Lifetime value (CONTRACTS §11) on SQLite: won deals valued in the base
currency at the rates opportunities publishes, the view, and the list of the
most valuable customers."""
from __future__ import annotations

import uuid
from decimal import Decimal

from services.accounts import on_opportunities, value
from tests.support.auth import headers

ADMIN = headers("admin")


def account(built, name: str) -> str:
    reply = built.client.post("/api/v1/accounts", json={"name": name}, headers=ADMIN)
    assert reply.status_code == 201
    return reply.get_json()["id"]


def deliver(built, handler, data: dict) -> None:
    with built.db.transaction() as uow:
        handler({"id": str(uuid.uuid4()), "type": "test", "data": data}, uow)


def won(built, account_id: str, amount: str, currency: str) -> None:
    deliver(built, on_opportunities.on_opportunity_won, {
        "opportunity_id": str(uuid.uuid4()), "account": {"id": account_id, "name": "x"},
        "amount": {"amount": amount, "currency": currency}, "won_at": "2026-11-02T10:00:00+00:00",
        "currency": currency, "line_items": []})


def rate(built, currency: str, rate_: str, version: int = 1, base: str = "EUR") -> None:
    deliver(built, value.on_exchange_rate_updated, {"currency": currency, "base_currency": base, "rate": rate_,
                                                    "as_of": "2026-11-02T00:00:00+00:00", "version": version})


def view(built, account_id: str) -> dict:
    return built.client.get(f"/api/v1/accounts/{account_id}/view", headers=ADMIN).get_json()


def test_lifetime_value_is_exact_and_rounded_once_half_even():
    assert value.compute({"EUR": Decimal("100.00"), "USD": Decimal("10.01")}, {"USD": Decimal("0.925")}, "EUR") \
        == (Decimal("109.26"), [])
    assert value.compute({"EUR": Decimal("0.125")}, {}, "EUR") == (Decimal("0.12"), [])
    assert value.compute({"EUR": Decimal("1"), "MXN": Decimal("5"), "USD": Decimal("0")}, {}, "EUR") == (None, ["MXN"])


def test_the_view_carries_lifetime_value_and_names_a_missing_rate(accounts):
    a = account(accounts, "Aranda")
    assert view(accounts, a)["lifetime_value"] == {"amount": "0.00", "currency": "EUR"}
    won(accounts, a, "1000.00", "EUR")
    won(accounts, a, "10.01", "USD")
    body = view(accounts, a)
    assert body["lifetime_value"] is None and body["lifetime_value_missing_rates"] == ["USD"]
    assert body["health_score"] is not None  # the view still answers
    rate(accounts, "USD", "0.925")
    body = view(accounts, a)
    assert body["lifetime_value"] == {"amount": "1009.26", "currency": "EUR"}
    assert body["lifetime_value_missing_rates"] == []
    rate(accounts, "USD", "2", version=3)
    rate(accounts, "USD", "1", version=2)  # older, arrives late: ignored
    assert view(accounts, a)["lifetime_value"]["amount"] == "1020.02"


def test_a_rate_under_another_base_currency_is_not_used(accounts):
    a = account(accounts, "Aranda")
    won(accounts, a, "10.00", "USD")
    rate(accounts, "USD", "0.9", base="GBP")
    assert view(accounts, a)["lifetime_value_missing_rates"] == ["USD"]


def test_the_most_valuable_customers_come_first_page_after_page(accounts):
    rate(accounts, "USD", "0.5")
    ids = {name: account(accounts, name) for name in ("A", "B", "C", "D", "E")}
    won(accounts, ids["A"], "100.00", "EUR")
    won(accounts, ids["B"], "300.00", "USD")    # 150 EUR
    won(accounts, ids["C"], "400.00", "EUR")
    won(accounts, ids["D"], "5.00", "MXN")      # no rate: last
    first = accounts.client.get("/api/v1/accounts?sort=-lifetime_value&limit=2", headers=ADMIN).get_json()
    assert [i["name"] for i in first["items"]] == ["C", "B"]
    assert first["items"][1]["lifetime_value"] == {"amount": "150.00", "currency": "EUR"}
    rest = accounts.client.get(f"/api/v1/accounts?sort=-lifetime_value&limit=2&cursor={first['next_cursor']}",
                               headers=ADMIN).get_json()
    assert [i["name"] for i in rest["items"]] == ["A", sorted(["D", "E"], key=lambda n: ids[n])[0]]
    last = accounts.client.get(f"/api/v1/accounts?sort=-lifetime_value&limit=2&cursor={rest['next_cursor']}",
                               headers=ADMIN).get_json()
    assert len(last["items"]) == 1 and last["next_cursor"] is None
    ascending = accounts.client.get("/api/v1/accounts?sort=lifetime_value", headers=ADMIN).get_json()
    assert [i["name"] for i in ascending["items"]][:3] == ["A", "B", "C"]
    assert accounts.client.get("/api/v1/accounts?sort=-name", headers=ADMIN).status_code == 422
    plain = accounts.client.get("/api/v1/accounts", headers=ADMIN).get_json()["items"]
    assert "lifetime_value" not in plain[0]
