"""The depth of the domain (CONTRACTS §11) through the gateway with every
process running: products and lines named from the catalogue, the installed
base and recommendations, exchange rates and converted totals, lifetime
value, SLA business hours, logging a past activity in one call, and campaign
mail with RFC 8058 one-click unsubscribe."""
from __future__ import annotations

import email
import email.policy
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from services.support.business_hours import add_business_seconds, parse_calendar
from tests.support.broker import Listener
from tests.support.wait import until


def ok(reply, status=200) -> dict:
    assert reply.status == status, reply.body
    return reply.json()


def money(amount: str, currency: str = "EUR") -> dict:
    return {"amount": amount, "currency": currency}


@pytest.fixture
def team(system):
    name = f"E2E-{uuid.uuid4().hex[:6]}"
    manager = system.make_user("manager", name)
    return {"name": name, "manager": manager, "rep": system.make_user("rep", name, manager["id"])}


def account(system, token, industry, segment="solutions") -> dict:
    return ok(system.post("/api/v1/accounts", {"name": f"Cliente {uuid.uuid4().hex[:6]}", "industry": industry,
                                               "segment": segment, "country": "ES"}, token=token), 201)


def won_deal(system, token, account_id, lines, currency="EUR") -> dict:
    deal = ok(system.post("/api/v1/opportunities", {
        "name": "Trato", "account_id": account_id,
        "line_items": [{"product_code": code, "quantity": qty, **({"unit_price": money(price, currency)}
                                                                  if price else {})}
                       for code, qty, price in lines]}, token=token), 201)
    ok(system.post(f"/api/v1/opportunities/{deal['id']}/win", {}, token=token))
    return deal


def test_products_name_lines_and_make_the_installed_base_and_recommendations(system, team):
    rep = team["rep"]["token"]
    code = f"P-{uuid.uuid4().hex[:6]}"
    other = f"Q-{uuid.uuid4().hex[:6]}"
    assert system.post("/api/v1/products", {"code": code, "name": "Soporte", "family": "Servicios"},
                       token=rep).status == 403
    product = ok(system.post("/api/v1/products", {"code": code, "name": "Soporte 24x7", "family": "Servicios",
                                                  "unit_price": money("5200.00")}), 201)
    ok(system.post("/api/v1/products", {"code": other, "name": "Cuadros de mando", "family": "Analítica",
                                        "unit_price": money("3900.00")}), 201)
    assert ok(system.get(f"/api/v1/products/{product['id']}"))["code"] == code
    industry = f"Conservas {uuid.uuid4().hex[:6]}"
    me, peer = account(system, rep, industry), account(system, rep, industry)
    listener = Listener(system.amqp_url, ["opportunities.opportunity.won"])
    try:
        deal = won_deal(system, rep, me["id"], [(code, 2, None), ("A-MEDIDA", 1, "10.00")])
        assert deal["line_items"][0]["name"] == "Soporte 24x7" and deal["line_items"][0]["family"] == "Servicios"
        assert deal["line_items"][1]["name"] is None or deal["line_items"][1]["family"] is None
        won = until(lambda: listener.of_type("opportunities.opportunity.won", deal["id"]), 15)
        assert won[0]["data"]["line_items"][0]["name"] == "Soporte 24x7"
    finally:
        listener.delete()
    won_deal(system, rep, peer["id"], [(code, 1, None), (other, 1, None)])
    base = ok(system.get(f"/api/v1/accounts/{me['id']}/products", token=rep))
    assert {(i["product_code"], i["quantity"]) for i in base["items"]} == {(code, 2), ("A-MEDIDA", 1)}

    def recommended():
        items = ok(system.get(f"/api/v1/accounts/{me['id']}/recommendations", token=rep))["items"]
        return items if any(i["product_code"] == other for i in items) else None
    items = until(recommended, 20, interval=0.3)  # the replica learns the industry from accounts' events
    first = next(i for i in items if i["product_code"] == other)
    assert first["owners"] >= 1 and first["reason"] and code not in {i["product_code"] for i in items}
    assert system.get(f"/api/v1/accounts/{uuid.uuid4()}/recommendations").status == 404


def test_rates_convert_the_pipeline_and_forecast_and_value_customers(system, team):
    rep, name = team["rep"]["token"], team["name"]
    assert system.put("/api/v1/exchange-rates/USD", {"rate": "0.925", "as_of": "2026-11-02"}).status in (200, 201)
    customer = account(system, rep, "Metalurgia")
    deal = ok(system.post("/api/v1/opportunities", {"name": "Acero", "account_id": customer["id"],
                                                    "amount": money("10.01", "USD"), "stage": "proposal"},
                          token=rep), 201)
    ok(system.post("/api/v1/opportunities", {"name": "Euros", "account_id": customer["id"],
                                             "amount": money("1000.00"), "stage": "proposal"}, token=rep), 201)
    pipeline = ok(system.get(f"/api/v1/pipeline?team={name}"))
    assert pipeline["currency"] == "EUR" and pipeline["totals"]["amount"] == money("1009.26")
    assert pipeline["rates"] == {"USD": "0.925"}
    assert ok(system.get(f"/api/v1/pipeline?team={name}&currency=USD"))["totals"]["amount"] == money("10.01", "USD")
    rare = ok(system.post("/api/v1/opportunities", {"name": "Francos", "account_id": customer["id"],
                                                    "amount": money("5.00", "CHF")}, token=rep), 201)
    missing = system.get(f"/api/v1/pipeline?team={name}")
    assert missing.status == 409 and missing.json()["currency"] == "CHF" and "CHF" in missing.json()["detail"]
    period = f"{deal['close_date'][:4]}-Q{(int(deal['close_date'][5:7]) - 1) // 3 + 1}"
    assert system.get(f"/api/v1/forecast?team={name}&period={period}").status == 409
    assert system.delete(f"/api/v1/opportunities/{rare['id']}", token=rep).status == 204
    assert ok(system.get(f"/api/v1/forecast?team={name}&period={period}"))["best_case"] == money("1009.26")

    ok(system.post(f"/api/v1/opportunities/{deal['id']}/win", {}, token=rep))
    view = until(lambda: (lambda v: v if v.get("lifetime_value") == money("9.26") else None)(
        system.get(f"/api/v1/accounts/{customer['id']}/view").json()), 20, interval=0.3)
    assert view["lifetime_value_missing_rates"] == []
    ok(system.put("/api/v1/exchange-rates/USD", {"rate": "1000"}))
    until(lambda: system.get(f"/api/v1/accounts/{customer['id']}/view").json()["lifetime_value"] == money("10010.00"),
          20, interval=0.3)
    top = ok(system.get("/api/v1/accounts?sort=-lifetime_value&limit=200"))["items"]
    values = [a["lifetime_value"]["amount"] for a in top if a.get("lifetime_value")]
    assert values == sorted(values, key=float, reverse=True) and customer["id"] in {a["id"] for a in top}
    ok(system.put("/api/v1/exchange-rates/USD", {"rate": "0.925"}))


def test_sla_business_hours_count_only_business_time(system):
    calendar = {"timezone": "Europe/Madrid", "holidays_country": "ES",
                "hours": {"mon": ["09:00", "18:00"], "wed": ["09:00", "18:00"]}}
    bad = system.put("/api/v1/sla-policy", {"calendar": {**calendar, "timezone": "Mars/Base"}})
    assert bad.status == 422 and "calendar.timezone" in bad.json()["errors"]
    try:
        policy = ok(system.put("/api/v1/sla-policy", {"calendar": calendar}))
        assert policy["calendar"]["hours"]["wed"] == ["09:00", "18:00"]
        case = ok(system.post("/api/v1/cases", {"subject": "Horario", "priority": "high"}), 201)
        opened = datetime.fromisoformat(case["created_at"])
        due = datetime.fromisoformat(case["first_response_due_at"])
        assert due == add_business_seconds(opened, policy["high"]["first_response_seconds"], parse_calendar(calendar))
    finally:
        ok(system.put("/api/v1/sla-policy", {"calendar": None}))
    back = ok(system.get(f"/api/v1/cases/{case['id']}"))  # 24/7 again: the open case's clock is recomputed
    assert datetime.fromisoformat(back["first_response_due_at"]) == \
        add_business_seconds(opened, policy["high"]["first_response_seconds"], None)


def test_a_past_call_is_logged_in_one_call_created_and_completed(system):
    listener = Listener(system.amqp_url, ["activities.activity.*"])
    try:
        call = ok(system.post("/api/v1/activities", {"type": "call", "subject": "Llamada de ayer", "status": "done",
                                                     "starts_at": "2026-11-02T10:00:00Z", "outcome": "Interesados"}),
                  201)
        assert call["status"] == "done" and call["completed_at"]
        kinds = until(lambda: (lambda got: got if len(got) >= 2 else None)(
            [e["type"] for e in listener.drain() if e.get("subject") == call["id"]]), 15)
        assert kinds[:2] == ["activities.activity.created", "activities.activity.completed"]
    finally:
        listener.delete()


def _mail(system, campaign_id):
    folder = Path(system.env["CADENA_VAR_DIR"]) / "mail"
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["X-Cadena-Campaign-Id"] == campaign_id:
            return message
    return None


def test_campaign_mail_unsubscribes_in_one_click_without_a_login(system):
    marketing = system.make_user("marketing", "Marketing")["token"]
    industry = f"Vinos {uuid.uuid4().hex[:6]}"
    bodega = account(system, "admin", industry)
    person = ok(system.post("/api/v1/contacts", {"first_name": "Ana", "email": f"ana.{uuid.uuid4().hex[:6]}@vino.es",
                                                 "account_id": bodega["id"]}), 201)
    campaign = ok(system.post("/api/v1/campaigns", {"name": "Vendimia", "channel": "email",
                                                    "segment": {"industry": [industry]}}, token=marketing), 201)
    cid = campaign["id"]
    until(lambda: system.post(f"/api/v1/campaigns/{cid}/members/build", token=marketing).json()["total"] == 1, 30,
          interval=0.3)
    assert system.post(f"/api/v1/campaigns/{cid}/launch", token=marketing).status == 202
    message = until(lambda: _mail(system, cid), 30, interval=0.3)
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] and message["Date"]
    link = message["List-Unsubscribe"].strip("<>")
    path = link[len(system.url):]
    assert link.startswith(system.url + "/api/v1/unsubscribe/")
    page = system.get(path, token=None)
    assert page.status == 200 and b"<form" in page.body
    one_click = system.request("POST", path, token=None, raw=b"List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status == 200 and one_click.json() == {"status": "unsubscribed"}
    assert system.request("POST", path, token=None).status == 200  # idempotent
    member = ok(system.get(f"/api/v1/campaigns/{cid}/members/{person['id']}", token=marketing))
    assert member["status"] == "opted_out"
    forged = system.request("POST", "/api/v1/unsubscribe/" + path.rsplit("/", 1)[1][:-4] + "AAAA", token=None)
    assert forged.status == 404 and forged.headers["Content-Type"].startswith("application/problem+json")
