"""The depth of the domain (CONTRACTS §11) where SQL matters, on the real
Postgres: the recommendations' GROUP BY with distinct conditional counts, the
installed base, the pipeline and forecast grouped by currency and converted,
lifetime value kept by the accounts worker's handlers and paged by value
(nulls last), and products segments in campaigns."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from shared.auth import upsert_user
from services.accounts import on_opportunities, value
from services.campaigns import handlers as campaign_handlers
from services.opportunities import replica
from tests.support.auth import headers

ADMIN = headers("admin")
NOWHERE = "http://127.0.0.1:1"


@pytest.fixture
def opps(build):
    built = build("opportunities", gateway_url=NOWHERE)
    built.app.extensions["cadena"].use_cases.accounts = None
    with built.db.transaction() as uow:
        upsert_user(uow.session, built.db, {"id": OWNER, "email": "o@x.test", "name": "O", "role": "rep",
                                            "team": "Iberia", "active": True})
    return built


OWNER = str(uuid.uuid4())


def _account(built, industry, segment) -> str:
    account_id = str(uuid.uuid4())
    with built.db.transaction() as uow:
        replica.upsert_account(uow.session, {"id": account_id, "name": "C", "industry": industry,
                                             "segment": segment, "version": 1})
    return account_id


def _won(built, account_id, codes, currency="EUR", price="100.00"):
    reply = built.client.post("/api/v1/opportunities", json={
        "name": "T", "account_id": account_id, "owner_id": OWNER,
        "line_items": [{"product_code": c, "quantity": 1, "unit_price": {"amount": price, "currency": currency}}
                       for c in codes]}, headers=ADMIN)
    assert reply.status_code == 201, reply.get_json()
    assert built.client.post(f"/api/v1/opportunities/{reply.get_json()['id']}/win", json={},
                             headers=ADMIN).status_code == 200


def test_recommendations_and_installed_base_on_postgres(opps):
    for code in ("CRM", "BI", "ERP"):
        assert opps.client.post("/api/v1/products", json={"code": code, "name": code}, headers=ADMIN).status_code == 201
    me = _account(opps, "Construcción", "solutions")
    _won(opps, me, ["ERP"])
    _won(opps, me, ["ERP", "HW"])
    both = _account(opps, "CONSTRUCCIÓN", "solutions")  # one peer by both criteria counts once
    _won(opps, both, ["CRM"])
    _won(opps, both, ["CRM", "BI"])
    _won(opps, _account(opps, "Retail", "solutions"), ["CRM"])
    body = opps.client.get(f"/api/v1/accounts/{me}/recommendations", headers=ADMIN).get_json()
    assert [(i["product_code"], i["owners"], i["same_industry"], i["same_segment"]) for i in body["items"]] == \
        [("CRM", 2, 1, 2), ("BI", 1, 1, 1)]
    base = opps.client.get(f"/api/v1/accounts/{me}/products", headers=ADMIN).get_json()["items"]
    assert [(i["product_code"], i["quantity"], i["deals"]) for i in base] == [("ERP", 2, 2), ("HW", 1, 1)]


def test_converted_pipeline_on_postgres(opps):
    account = _account(opps, "X", None)
    for amount, currency in (("1000.00", "EUR"), ("10.01", "USD"), ("0.01", "USD")):
        opps.client.post("/api/v1/opportunities", json={"name": "T", "account_id": account, "owner_id": OWNER,
                                                        "amount": {"amount": amount, "currency": currency},
                                                        "stage": "negotiation"}, headers=ADMIN)
    assert opps.client.get("/api/v1/pipeline", headers=ADMIN).status_code == 409
    opps.client.put("/api/v1/exchange-rates/USD", json={"rate": "0.925"}, headers=ADMIN)
    body = opps.client.get("/api/v1/pipeline", headers=ADMIN).get_json()
    # 1000 + 10.02 × 0.925 = 1009.2685 → 1009.27; weighted 75 %: 756.951375 → 756.95
    assert body["totals"]["amount"]["amount"] == "1009.27"
    assert body["totals"]["weighted_amount"]["amount"] == "756.95"
    assert [s["count"] for s in body["stages"]] == [0, 0, 0, 3]


def test_lifetime_value_pages_by_value_on_postgres(build):
    accounts = build("accounts", gateway_url=NOWHERE)
    value.configure("EUR")
    ids = []
    for name in ("A", "B", "C", "D"):
        ids.append(accounts.client.post("/api/v1/accounts", json={"name": name}, headers=ADMIN).get_json()["id"])

    def deliver(handler, data):
        with accounts.db.transaction() as uow:
            handler({"id": str(uuid.uuid4()), "data": data}, uow)

    for account_id, amount, currency in ((ids[0], "100.00", "EUR"), (ids[1], "300.00", "USD"),
                                         (ids[2], "400.00", "EUR"), (ids[3], "1.00", "MXN")):
        deliver(on_opportunities.on_opportunity_won, {
            "opportunity_id": str(uuid.uuid4()), "account": {"id": account_id}, "currency": currency,
            "amount": {"amount": amount, "currency": currency}, "won_at": datetime.now(timezone.utc).isoformat()})
    deliver(value.on_exchange_rate_updated, {"currency": "USD", "base_currency": "EUR", "rate": "0.5",
                                             "version": 1, "as_of": None})
    seen, cursor = [], None
    while True:
        query = "/api/v1/accounts?sort=-lifetime_value&limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = accounts.client.get(query, headers=ADMIN).get_json()
        seen += [(i["name"], (i["lifetime_value"] or {}).get("amount")) for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [("C", "400.00"), ("B", "150.00"), ("A", "100.00"), ("D", None)]


def test_products_segments_on_postgres(build):
    campaigns = build("campaigns", gateway_url=NOWHERE)
    from shared import events, inbox
    account_id, contact_id = str(uuid.uuid4()), str(uuid.uuid4())
    feeds = [("accounts.account.created", {"id": account_id, "version": 1, "name": "B", "country": "ES"}),
             ("accounts.contact.created", {"id": contact_id, "version": 1, "account_id": account_id,
                                           "first_name": "Ana", "email": "ana@b.es", "lifecycle_stage": "prospect"}),
             ("opportunities.opportunity.won", {
                 "opportunity_id": str(uuid.uuid4()), "account": {"id": account_id, "name": "B"},
                 "amount": {"amount": "1.00", "currency": "EUR"}, "won_at": "2026-11-02T10:00:00+00:00",
                 "line_items": [{"product_code": "SOP-24", "quantity": 1}]})]
    for key, data in feeds:
        event = events.new_event(source=key.split(".")[0], type=key, subject=None, data=data)
        for _ in range(2):  # redelivered: no second effect
            inbox.handle(campaigns.db, "cadena.campaigns.events", campaign_handlers.HANDLERS, key,
                         events.encode(event))
    count = campaigns.client.post("/api/v1/campaigns/segment-count", json={"segment": {"products": ["sop-24"]}},
                                  headers=ADMIN).get_json()
    assert count == {"count": 1}
