"""Opportunities' rules: stages, probabilities, forecast categories, line
totals, periods, and the pipeline/forecast math (SQL on SQLite, no broker)."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from shared.auth import upsert_user
from services.opportunities import replica, rules
from tests.support.auth import headers


# -- pure rules ---------------------------------------------------------------------

@pytest.mark.parametrize("stage,probability,category,is_open", [
    ("prospecting", 10, "pipeline", True),
    ("qualification", 25, "pipeline", True),
    ("proposal", 50, "best_case", True),
    ("negotiation", 75, "commit", True),
    ("closed_won", 100, "closed", False),
    ("closed_lost", 0, "omitted", False),
])
def test_stage_defaults_follow_the_contract(stage, probability, category, is_open):
    assert rules.stage_defaults(stage) == (probability, category)
    assert rules.is_open(stage) is is_open


def test_stages_are_in_contract_order():
    assert rules.STAGE_NAMES == ("prospecting", "qualification", "proposal", "negotiation", "closed_won",
                                 "closed_lost")


def test_set_probability_and_category_win_over_defaults_on_open_stages_only():
    assert rules.stage_defaults("proposal", 60, "commit") == (60, "commit")
    assert rules.stage_defaults("proposal", 0, None) == (0, "best_case")  # 0 is a value, not "unset"
    assert rules.stage_defaults("closed_won", 30, "pipeline") == (100, "closed")
    assert rules.stage_defaults("closed_lost", 30, "commit") == (0, "omitted")


def _line(quantity, price, currency="EUR"):
    return {"quantity": Decimal(str(quantity)), "unit_price": {"amount": Decimal(price), "currency": currency}}


def test_line_total_rounds_half_up_to_the_cent():
    assert rules.line_total(Decimal("1.5"), Decimal("0.33")) == Decimal("0.50")  # 0.495
    assert rules.line_total(Decimal("3"), Decimal("19.99")) == Decimal("59.97")
    assert rules.line_total(Decimal("0.25"), Decimal("0.01")) == Decimal("0.00")  # 0.0025


def test_amount_is_derived_from_lines_when_omitted():
    amount, errors = rules.check_lines(None, [_line(3, "100.10"), _line("1.5", "0.33")])
    assert errors == {}
    assert amount == {"amount": Decimal("300.80"), "currency": "EUR"}


def test_amount_must_equal_the_sum_of_line_totals():
    lines = [_line(2, "10.00"), _line(1, "5.55")]
    assert rules.check_lines({"amount": Decimal("25.55"), "currency": "EUR"}, lines)[1] == {}
    _, errors = rules.check_lines({"amount": Decimal("25.56"), "currency": "EUR"}, lines)
    assert "25.55" in errors["amount"][0]


def test_line_currency_must_match_the_deal():
    _, errors = rules.check_lines({"amount": Decimal("10"), "currency": "EUR"}, [_line(1, "10", "USD")])
    assert list(errors) == ["line_items.0.unit_price.currency"]
    _, errors = rules.check_lines(None, [_line(1, "10", "EUR"), _line(1, "10", "USD")])
    assert list(errors) == ["line_items.1.unit_price.currency"]


def test_no_amount_and_no_lines_is_an_error():
    assert "amount" in rules.check_lines(None, [])[1]
    assert rules.check_lines({"amount": Decimal("0"), "currency": "EUR"}, [])[1] == {}


@pytest.mark.parametrize("period,start,end", [
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ("2027-02", date(2027, 2, 1), date(2027, 2, 28)),
])
def test_periods_cover_whole_quarters_and_months(period, start, end):
    assert rules.parse_period(period) == (start, end)


@pytest.mark.parametrize("period", ["2026-Q5", "2026-Q0", "2026-13", "2026-00", "2026-1", "26-Q1", "2026-q4",
                                    "2026Q4", "", "2026-11-01", "Q4-2026"])
def test_bad_periods_are_refused(period):
    with pytest.raises(rules.BadPeriod):
        rules.parse_period(period)


def test_quarter_month_and_attainment_helpers():
    assert rules.quarter_of(date(2026, 11, 23)) == "2026-Q4"
    assert rules.month_of(date(2026, 1, 5)) == "2026-01"
    assert rules.end_of_quarter(date(2026, 2, 10)) == date(2026, 3, 31)
    assert rules.attainment(Decimal("250"), Decimal("1000")) == 0.25
    assert rules.attainment(Decimal("1"), Decimal("3")) == 0.3333
    assert rules.attainment(Decimal("5"), Decimal("0")) is None


def test_weighted_is_rounded_once_from_the_exact_sum():
    # 333.33 × 25 = 8333.25 and 0.01 × 50 = 0.50 → 8333.75 / 100 = 83.3375 → 83.34
    assert rules.weighted(Decimal("8333.25") + Decimal("0.50")) == Decimal("83.34")
    assert rules.weighted(None) == Decimal("0.00")


# -- pipeline and forecast math, in SQL on SQLite -------------------------------------

ME, MATE, OTHER = (str(uuid.uuid4()) for _ in range(3))


@pytest.fixture
def opps(sqlite_build):
    built = sqlite_build("opportunities", gateway_url="http://127.0.0.1:1")
    built.app.extensions["cadena"].use_cases.accounts = None  # no accounts service here
    with built.db.transaction() as uow:
        for uid, team, manager in ((ME, "Iberia", None), (MATE, "Iberia", None), (OTHER, "LatAm", None)):
            upsert_user(uow.session, built.db, {"id": uid, "email": f"{uid}@x.test", "name": "U", "role": "rep",
                                                "team": team, "manager_id": manager, "active": True})
        replica.upsert_account(uow.session, {"id": ACCOUNT, "name": "Bodegas Valdeolmos S.A.", "version": 1})
    return built


ACCOUNT = str(uuid.uuid4())
ADMIN = headers("admin")


def deal(built, amount, stage="prospecting", owner=ME, currency="EUR", close=None, **extra):
    body = {"name": f"Deal {amount}", "account_id": ACCOUNT, "amount": {"amount": amount, "currency": currency},
            "stage": stage, "owner_id": owner, **extra}
    if close:
        body["close_date"] = close
    reply = built.client.post("/api/v1/opportunities", json=body, headers=ADMIN)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def stage_row(body, name):
    return next(s for s in body["stages"] if s["stage"] == name)


def test_pipeline_sums_open_deals_per_stage_exact_to_the_cent(opps):
    deal(opps, "333.33", "qualification")        # weighted 83.3325
    deal(opps, "0.01", "proposal")                # weighted 0.005
    deal(opps, "1000.10", "qualification")       # weighted 250.025
    deal(opps, "1234.56", "negotiation", probability=90)   # weighted 1111.104
    won = deal(opps, "5000.00", "negotiation")
    assert opps.client.post(f"/api/v1/opportunities/{won['id']}/win", json={}, headers=ADMIN).status_code == 200
    gone = deal(opps, "777.00", "prospecting")
    assert opps.client.delete(f"/api/v1/opportunities/{gone['id']}", headers=ADMIN).status_code == 204
    deal(opps, "999.99", "prospecting", currency="USD")

    missing = opps.client.get("/api/v1/pipeline", headers=ADMIN)  # §11: every deal, in the base currency
    assert missing.status_code == 409 and missing.get_json()["currency"] == "USD"
    body = opps.client.get("/api/v1/pipeline?currency=EUR", headers=ADMIN).get_json()
    assert body["currency"] == "EUR"
    assert [s["stage"] for s in body["stages"]] == ["prospecting", "qualification", "proposal", "negotiation"]
    qual = stage_row(body, "qualification")
    assert qual["count"] == 2
    assert qual["amount"] == {"amount": "1333.43", "currency": "EUR"}
    assert qual["weighted_amount"] == {"amount": "333.36", "currency": "EUR"}  # 333.3575
    assert stage_row(body, "prospecting")["count"] == 0
    assert stage_row(body, "negotiation")["weighted_amount"]["amount"] == "1111.10"
    assert body["totals"]["count"] == 4
    assert body["totals"]["amount"]["amount"] == "2568.00"
    assert body["totals"]["weighted_amount"]["amount"] == "1444.47"  # 1444.4665

    usd = opps.client.get("/api/v1/pipeline?currency=USD", headers=ADMIN).get_json()
    assert usd["totals"]["amount"] == {"amount": "999.99", "currency": "USD"}
    assert usd["totals"]["weighted_amount"]["amount"] == "100.00"  # 99.999


def test_pipeline_filters_by_owner_and_team(opps):
    deal(opps, "100.00", owner=ME)
    deal(opps, "200.00", owner=MATE)
    deal(opps, "400.00", owner=OTHER)
    get = lambda q: opps.client.get(f"/api/v1/pipeline?{q}", headers=ADMIN).get_json()["totals"]["amount"]["amount"]  # noqa: E731
    assert get(f"owner_id={ME}") == "100.00"
    assert get("team=Iberia") == "300.00"
    assert get("team=LatAm") == "400.00"
    assert get("team=Nowhere") == "0.00"
    assert get(f"team=Iberia&owner_id={OTHER}") == "0.00"
    assert opps.client.get("/api/v1/pipeline?currency=euro", headers=ADMIN).status_code == 422


def test_forecast_counts_deals_closing_in_the_period(opps):
    deal(opps, "100.00", "prospecting", close="2026-10-01")      # pipeline, first day in
    deal(opps, "200.00", "qualification", close="2026-12-31")    # pipeline, last day in
    deal(opps, "300.00", "proposal", close="2026-11-15")         # best_case
    deal(opps, "400.00", "negotiation", close="2026-11-15")      # commit
    deal(opps, "500.00", "negotiation", close="2026-11-15", forecast_category="omitted")  # out of the forecast
    deal(opps, "600.00", "qualification", close="2026-11-15", forecast_category="commit")  # rep's call: commit
    deal(opps, "999.00", "negotiation", close="2027-01-01")      # next quarter
    deal(opps, "888.00", "negotiation", close="2026-09-30")      # last quarter
    won = deal(opps, "1250.50", "negotiation", close="2026-12-01")
    opps.client.post(f"/api/v1/opportunities/{won['id']}/win", json={"close_date": "2026-12-20"}, headers=ADMIN)
    won_late = deal(opps, "50.00", "proposal")
    opps.client.post(f"/api/v1/opportunities/{won_late['id']}/win", json={"close_date": "2027-02-01"},
                     headers=ADMIN)
    lost = deal(opps, "70.00", "proposal", close="2026-11-01")
    opps.client.post(f"/api/v1/opportunities/{lost['id']}/lose", json={"reason": "price"}, headers=ADMIN)
    put = opps.client.put(f"/api/v1/quotas/{ME}/2026-Q4", json={"amount": {"amount": "5000.00", "currency": "EUR"}},
                          headers=ADMIN)
    assert put.status_code == 201

    body = opps.client.get("/api/v1/forecast?period=2026-Q4", headers=ADMIN).get_json()
    money = {k: body[k]["amount"] for k in ("quota", "closed_won", "commit", "best_case", "pipeline",
                                             "weighted_pipeline")}
    # weighted: 100×10 + 200×25 + 300×50 + 400×75 + 600×25 = 66000 / 100
    assert money == {"quota": "5000.00", "closed_won": "1250.50", "commit": "1000.00", "best_case": "300.00",
                     "pipeline": "300.00", "weighted_pipeline": "660.00"}
    assert body["attainment"] == 0.2501
    assert body["period"] == "2026-Q4"

    month = opps.client.get("/api/v1/forecast?period=2026-11", headers=ADMIN).get_json()
    assert month["commit"]["amount"] == "1000.00"
    assert month["pipeline"]["amount"] == "0.00"
    assert month["closed_won"]["amount"] == "0.00"
    assert month["quota"]["amount"] == "0.00" and month["attainment"] is None


def test_forecast_quota_and_deals_follow_the_scope(opps):
    deal(opps, "100.00", "negotiation", owner=ME, close="2026-11-02")
    deal(opps, "300.00", "negotiation", owner=MATE, close="2026-11-02")
    deal(opps, "700.00", "negotiation", owner=OTHER, close="2026-11-02")
    for uid, amount in ((ME, "1000.00"), (MATE, "3000.00"), (OTHER, "9000.00")):
        opps.client.put(f"/api/v1/quotas/{uid}/2026-11", json={"amount": {"amount": amount, "currency": "EUR"}},
                        headers=ADMIN)
    team = opps.client.get("/api/v1/forecast?period=2026-11&team=Iberia", headers=ADMIN).get_json()
    assert (team["quota"]["amount"], team["commit"]["amount"]) == ("4000.00", "400.00")
    mine = opps.client.get(f"/api/v1/forecast?period=2026-11&owner_id={ME}", headers=ADMIN).get_json()
    assert (mine["quota"]["amount"], mine["commit"]["amount"]) == ("1000.00", "100.00")
    everyone = opps.client.get("/api/v1/forecast?period=2026-11", headers=ADMIN).get_json()
    assert everyone["quota"]["amount"] == "13000.00"


@pytest.mark.parametrize("period", ["2026-Q5", "2026-13", "26-Q1", "nope"])
def test_forecast_with_a_bad_period_is_422(opps, period):
    reply = opps.client.get(f"/api/v1/forecast?period={period}", headers=ADMIN)
    assert reply.status_code == 422
    assert "period" in reply.get_json()["errors"]


# -- the reference billing consumer, without a broker ------------------------------------

def test_billing_demo_prints_one_draft_invoice_per_deal_and_skips_redeliveries(tmp_path):
    import io

    from shared import events
    from services.opportunities import billing_demo

    data = {"opportunity_id": str(uuid.uuid4()), "name": "Línea de envasado",
            "account": {"id": ACCOUNT, "name": "Conservas del Cantábrico S.A.", "tax_id": "A48998877",
                        "country": "ES", "billing_address": {"street": "Puerto 3", "city": "Bermeo",
                                                             "postal_code": "48370", "country": "ES"}},
            "primary_contact": {"id": str(uuid.uuid4()), "name": "Itziar Etxeberria", "email": "itziar@c.es"},
            "owner_id": ME, "amount": {"amount": "38702.00", "currency": "EUR"}, "close_date": "2026-11-23",
            "won_at": "2026-11-23T10:00:00+00:00", "currency": "EUR",
            "line_items": [{"product_code": "ENV-500", "description": "Envasadora", "quantity": 2,
                            "unit_price": {"amount": "18450.75", "currency": "EUR"},
                            "total": {"amount": "36901.50", "currency": "EUR"}},
                           {"product_code": "INST", "description": "Instalación", "quantity": 1.5,
                            "unit_price": {"amount": "1200.33", "currency": "EUR"},
                            "total": {"amount": "1800.50", "currency": "EUR"}}]}
    event = events.new_event(source="opportunities", type="opportunities.opportunity.won",
                             subject=data["opportunity_id"], data=data)
    out = io.StringIO()
    ledger = billing_demo.Ledger(tmp_path / "billing.sqlite")
    on_message = billing_demo.handler(ledger, out)
    body = events.encode(event)
    assert on_message("opportunities.opportunity.won", body) == "ack"
    assert on_message("opportunities.opportunity.won", body) == "ack"  # redelivered: nothing printed
    copy = events.encode({**event, "id": str(uuid.uuid4())})
    assert on_message("opportunities.opportunity.won", copy) == "ack"  # same deal, other id: one invoice per deal
    assert on_message("opportunities.opportunity.won", b"garbage") == "reject"
    text = out.getvalue()
    assert text.count("DRAFT INVOICE") == 1
    assert "Conservas del Cantábrico S.A." in text and "38,702.00 EUR" in text and "differ" not in text
    assert ledger.count() == 1
    ledger.close()
    again = billing_demo.Ledger(tmp_path / "billing.sqlite")  # survives a restart
    assert billing_demo.handler(again, out)("opportunities.opportunity.won", body) == "ack"
    assert out.getvalue().count("DRAFT INVOICE") == 1


# -- the pipeline_totals buckets always agree with the deals ------------------------------

def assert_totals_match_deals(built):
    from sqlalchemy import select

    from services.opportunities import totals
    from services.opportunities.models import PipelineTotal

    with built.db.sessions() as session:
        kept = {tuple(r[:5]): tuple(int(v) for v in r[5:]) for r in session.execute(select(
            PipelineTotal.owner_id, PipelineTotal.currency, PipelineTotal.month, PipelineTotal.stage,
            PipelineTotal.forecast_category, PipelineTotal.deals, PipelineTotal.cents, PipelineTotal.weighted))
            if r.deals or r.cents or r.weighted}
        truth = {tuple(r[:5]): tuple(int(v) for v in r[5:]) for r in session.execute(totals.from_deals(session))}
    assert kept == truth


def test_totals_follow_every_kind_of_change(opps):
    import random

    rng = random.Random(11)
    ids = []
    for step in range(120):
        action = rng.choice(["create", "create", "stage", "amount", "owner", "date", "category", "lines", "win",
                             "lose", "delete"])
        if action == "create" or not ids:
            ids.append(deal(opps, f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}",
                            rng.choice(rules.OPEN_STAGES), owner=rng.choice([ME, MATE, OTHER]),
                            currency=rng.choice(["EUR", "USD"]),
                            close=f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")["id"])
            continue
        url = f"/api/v1/opportunities/{rng.choice(ids)}"
        change = {
            "stage": {"stage": rng.choice(rules.OPEN_STAGES)},
            "amount": {"amount": {"amount": f"{rng.randint(0, 5000)}.{rng.randint(0, 99):02d}", "currency": "EUR"}},
            "owner": {"owner_id": rng.choice([ME, MATE, OTHER])},
            "date": {"close_date": f"2027-{rng.randint(1, 12):02d}-01"},
            "category": {"forecast_category": rng.choice(["commit", "omitted", None]), "probability": rng.randint(0, 100)},
            "lines": {"line_items": [{"product_code": "X", "quantity": rng.randint(1, 9),
                                      "unit_price": {"amount": "10.01", "currency": "EUR"}}], "amount": None},
        }.get(action)
        if change is not None:
            change = {k: v for k, v in change.items() if not (k == "amount" and v is None)}
            opps.client.patch(url, json=change, headers=ADMIN)
        elif action in ("win", "lose"):
            opps.client.post(f"{url}/{action}", json={}, headers=ADMIN)
        else:
            opps.client.delete(url, headers=ADMIN)
    assert_totals_match_deals(opps)
    with opps.db.transaction() as uow:  # the repair tool gives the same answer
        from services.opportunities import totals

        before = opps.client.get("/api/v1/forecast?period=2026-Q4", headers=ADMIN).get_json()
        totals.rebuild(uow.session)
    assert opps.client.get("/api/v1/forecast?period=2026-Q4", headers=ADMIN).get_json() == before
    assert_totals_match_deals(opps)
