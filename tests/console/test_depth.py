"""Console pages for the depth of the domain (CONTRACTS §11): the customer's
installed base, recommendations and lifetime value on the 360, and the most
valuable customers on a manager's day (fake API)."""
from __future__ import annotations

from tests.console.fake_api import ACCOUNT, ACCOUNT_ID, customer_360, money, page


def test_the_360_shows_the_installed_base_recommendations_and_lifetime_value(signed_in, fake):
    view = {**customer_360()["view"], "lifetime_value": money("18250.75"), "lifetime_value_missing_rates": []}
    fake.on("GET", f"/api/v1/customers/{ACCOUNT_ID}/360", 200, customer_360(view=view))
    html = signed_in.get(f"/accounts/{ACCOUNT_ID}?lang=en").get_data(as_text=True)
    assert "Installed base" in html and "Soporte 24x7" in html
    assert "Recommended next" in html and "Paquete de cuadros de mando" in html
    assert "Owned by 3 similar customers (2 same industry, 1 same segment)." in html
    assert "Lifetime value" in html and "€18,250.75" in html


def test_a_missing_rate_is_said_and_a_failed_part_is_marked_unavailable(signed_in, fake):
    view = {**customer_360()["view"], "lifetime_value": None, "lifetime_value_missing_rates": ["USD"]}
    fake.on("GET", f"/api/v1/customers/{ACCOUNT_ID}/360", 200, customer_360(view=view))
    fake.on("GET", f"/api/v1/accounts/{ACCOUNT_ID}/recommendations", 503, {"status": 503})
    html = signed_in.get(f"/accounts/{ACCOUNT_ID}?lang=en").get_data(as_text=True)
    assert "no exchange rate for USD" in html
    assert "Soporte 24x7" in html and "Paquete de cuadros de mando" not in html


def test_a_manager_sees_the_most_valuable_customers_of_the_team(sign_in, fake):
    client = sign_in("manager")
    valued = [{**ACCOUNT, "lifetime_value": money("90000.00")},
              {**ACCOUNT, "id": "a-2", "name": "Sin ventas", "lifetime_value": money("0.00")}]
    fake.on("GET", "/api/v1/accounts", 200, page(valued))
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Most valuable customers" in html and "€90,000.00" in html and "Sin ventas" not in html
    asked = [c for c in fake.called("GET", "/api/v1/accounts") if c["query"].get("sort")]
    assert asked and asked[0]["query"]["sort"] == ["-lifetime_value"]


def test_a_rep_does_not_get_the_ranking(signed_in, fake):
    html = signed_in.get("/?lang=en").get_data(as_text=True)
    assert "Most valuable customers" not in html
