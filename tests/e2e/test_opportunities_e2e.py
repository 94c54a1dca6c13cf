"""Deals through the gateway with every process running: stage moves, the
won-deal event as a billing system receives it, the contacts' lifecycle,
and pipeline/forecast figures exact to the cent."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from services.opportunities.rules import end_of_quarter, quarter_of
from tests.support.broker import Listener
from tests.support.wait import until

WON = "opportunities.opportunity.won"


@pytest.fixture
def billing(system):
    """A queue bound the way a billing system binds it."""
    listening = Listener(system.amqp_url, [WON], name=f"billing.e2e.{uuid.uuid4().hex[:8]}")
    yield listening
    listening.delete()


@pytest.fixture
def team(system):
    name = f"E2E-{uuid.uuid4().hex[:6]}"
    manager = system.make_user("manager", name)
    reps = [system.make_user("rep", name, manager["id"]) for _ in range(2)]
    return {"name": name, "manager": manager, "reps": reps}


def money(amount: str, currency: str = "EUR") -> dict:
    return {"amount": amount, "currency": currency}


def new_account(system, token, name="Conservas del Cantábrico S.A."):
    reply = system.post("/api/v1/accounts", {
        "name": name, "country": "ES", "tax_id": "A48998877",
        "billing_address": {"street": "Puerto 3", "city": "Bermeo", "postal_code": "48370", "country": "ES"}},
        token=token)
    assert reply.status == 201, reply.body
    return reply.json()


def test_deal_goes_from_prospecting_to_billing_exactly_once(system, billing, team):
    rep = team["reps"][0]
    account = new_account(system, rep["token"])
    contacts = [system.post("/api/v1/contacts", {"first_name": n, "last_name": "Etxeberria",
                                                 "email": f"{n.lower()}.{uuid.uuid4().hex[:6]}@conservas.es",
                                                 "account_id": account["id"]}, token=rep["token"]).json()
                for n in ("Itziar", "Mikel")]
    # created right away: the account's event may not have reached opportunities yet
    reply = system.post("/api/v1/opportunities", {
        "name": "Línea de envasado", "account_id": account["id"], "primary_contact_id": contacts[0]["id"],
        "line_items": [
            {"product_code": "ENV-500", "description": "Envasadora 500 u/h", "quantity": 2,
             "unit_price": money("18450.75")},
            {"product_code": "INST", "description": "Instalación y puesta en marcha", "quantity": "1.5",
             "unit_price": money("1200.33")}]}, token=rep["token"])
    assert reply.status == 201, reply.body
    opp = reply.json()
    assert reply.headers["Location"] == f"/api/v1/opportunities/{opp['id']}"
    assert opp["amount"] == money("38702.00")  # 36901.50 + 1800.495 → 1800.50
    assert (opp["stage"], opp["probability"], opp["forecast_category"]) == ("prospecting", 10, "pipeline")

    def lifecycle(contact):
        return system.get(f"/api/v1/contacts/{contact['id']}", token=rep["token"]).json()["lifecycle_stage"]

    until(lambda: all(lifecycle(c) == "potential_customer" for c in contacts), timeout=20)

    url = f"/api/v1/opportunities/{opp['id']}"
    etag = reply.headers["ETag"]
    for stage, probability in (("qualification", 25), ("proposal", 50), ("negotiation", 75)):
        moved = system.patch(url, {"stage": stage}, token=rep["token"], headers={"If-Match": etag})
        assert moved.status == 200, moved.body
        assert moved.json()["probability"] == probability
        etag = moved.headers["ETag"]
    assert system.patch(url, {"stage": "proposal"}, token=rep["token"], headers={"If-Match": '"1"'}).status == 412
    other_rep = team["reps"][1]
    assert system.post(f"{url}/win", {}, token=other_rep["token"]).status == 403

    won = system.post(f"{url}/win", {"reason": "Mejor plazo de entrega"}, token=rep["token"])
    assert won.status == 200 and won.json()["stage"] == "closed_won"
    again = system.post(f"{url}/win", {}, token=rep["token"])
    assert again.status == 409 and again.headers["Content-Type"].startswith("application/problem+json")
    assert system.post(f"{url}/lose", {"reason": "x"}, token=rep["token"]).status == 409

    [event] = until(lambda: billing.of_type(WON, opp["id"]), timeout=20)
    data = event["data"]
    assert event["specversion"] == "1.0" and event["type"] == WON and event["source"] == "/cadena/opportunities"
    assert data["opportunity_id"] == opp["id"] and data["owner_id"] == rep["id"]
    assert data["account"] == {"id": account["id"], "name": account["name"], "tax_id": "A48998877", "country": "ES",
                               "billing_address": account["billing_address"]}
    assert data["primary_contact"] == {"id": contacts[0]["id"], "name": "Itziar Etxeberria",
                                       "email": contacts[0]["email"]}
    assert data["amount"] == money("38702.00") and data["currency"] == "EUR"
    assert datetime.fromisoformat(data["won_at"]).tzinfo is not None
    assert data["close_date"] == datetime.now(timezone.utc).date().isoformat()
    lines = data["line_items"]
    for line in lines:
        assert Decimal(line["total"]["amount"]) == (Decimal(str(line["quantity"]))
                                                    * Decimal(line["unit_price"]["amount"])).quantize(Decimal("0.01"),
                                                                                                   "ROUND_HALF_UP")
    assert sum(Decimal(li["total"]["amount"]) for li in lines) == Decimal(data["amount"]["amount"])

    # a later deal's event proves the stream moved on without a second copy of the first
    marker = system.post("/api/v1/opportunities", {"name": "Repuestos", "account_id": account["id"],
                                                   "amount": money("10.00")}, token=rep["token"]).json()
    system.post(f"/api/v1/opportunities/{marker['id']}/win", {}, token=rep["token"])
    until(lambda: billing.of_type(WON, marker["id"]), timeout=20)
    assert len(billing.of_type(WON, opp["id"])) == 1

    until(lambda: all(lifecycle(c) == "active_customer" for c in contacts), timeout=20)
    view = until(lambda: (v := system.get(f"/api/v1/accounts/{account['id']}/view", token=rep["token"]).json())
                 ["won_total"]["amount"] == "38712.00" and v, timeout=20)
    assert view["open_pipeline"]["amount"] == "0.00"


def test_pipeline_and_forecast_are_exact_to_the_cent(system, team):
    today = datetime.now(timezone.utc).date()
    period, last_day = quarter_of(today), end_of_quarter(today).isoformat()
    manager, (ana, luis) = team["manager"], team["reps"]
    account = new_account(system, ana["token"], name="Textiles Mediterráneo S.A.")
    for user, quota in ((ana, "20000.00"), (luis, "15000.50")):
        put = system.put(f"/api/v1/quotas/{user['id']}/{period}", {"amount": money(quota)}, token=manager["token"])
        assert put.status in (200, 201), put.body
    assert system.put(f"/api/v1/quotas/{ana['id']}/{period}", {"amount": money("1.00")},
                      token=ana["token"]).status == 403
    assert system.put(f"/api/v1/quotas/{ana['id']}/2026-Q5", {"amount": money("1.00")},
                      token=manager["token"]).status == 422

    def deal(user, amount, stage, **extra):
        reply = system.post("/api/v1/opportunities", {"name": f"{stage} {amount}", "account_id": account["id"],
                                                      "amount": money(amount), "stage": stage,
                                                      "close_date": last_day, **extra}, token=user["token"])
        assert reply.status == 201, reply.body
        return reply.json()

    deal(ana, "1000.01", "prospecting")                       # 100.001
    deal(ana, "2500.55", "qualification")                     # 625.1375
    deal(luis, "3333.33", "proposal")                         # 1666.665
    deal(luis, "4444.44", "negotiation")                      # 3333.33
    deal(ana, "999.99", "negotiation", forecast_category="omitted")   # 749.9925 (pipeline only)
    won = deal(ana, "7777.77", "negotiation")
    assert system.post(f"/api/v1/opportunities/{won['id']}/win", {}, token=manager["token"]).status == 200
    lost = deal(luis, "5000.00", "proposal")
    assert system.post(f"/api/v1/opportunities/{lost['id']}/lose", {"reason": "Precio"},
                       token=luis["token"]).status == 200
    assert system.patch(f"/api/v1/opportunities/{lost['id']}", {"amount": money("1.00")},
                        token=manager["token"]).status == 409

    expected_forecast = {"period": period, "quota": money("35000.50"), "closed_won": money("7777.77"),
                         "commit": money("4444.44"), "best_case": money("3333.33"), "pipeline": money("3500.56"),
                         "weighted_pipeline": money("5725.13"),  # 100.001+625.1375+1666.665+3333.33 = 5725.1335
                         "attainment": 0.2222}                   # 7777.77 / 35000.50

    def forecast():
        body = system.get(f"/api/v1/forecast?period={period}&team={team['name']}").json()
        return {k: body.get(k) for k in expected_forecast}

    # the team comes from the users replica, fed by identity events
    until(lambda: forecast() == expected_forecast, timeout=20)
    mine = system.get(f"/api/v1/forecast?period={period}&owner_id={ana['id']}").json()
    assert (mine["quota"], mine["closed_won"], mine["pipeline"]) == (money("20000.00"), money("7777.77"),
                                                                    money("3500.56"))

    pipeline = system.get(f"/api/v1/pipeline?team={team['name']}").json()
    by_stage = {s["stage"]: s for s in pipeline["stages"]}
    assert by_stage["negotiation"] == {"stage": "negotiation", "count": 2, "amount": money("5444.43"),
                                       "weighted_amount": money("4083.32")}  # 3333.33 + 749.9925
    assert by_stage["proposal"]["weighted_amount"] == money("1666.67")
    assert pipeline["totals"] == {"count": 5, "amount": money("12278.32"),
                                  "weighted_amount": money("6475.13")}  # 6475.126
    stages = system.get("/api/v1/pipeline/stages").json()["items"]
    assert [s["stage"] for s in stages][:4] == ["prospecting", "qualification", "proposal", "negotiation"]
