"""Opportunities' use cases through its HTTP layer, on SQLite (no broker):
stage moves and their events, closing, line items, the account replica and
its miss fallback, permissions, quotas."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from shared.auth import upsert_user
from shared.peer import owner_unavailable
from services.opportunities import replica
from services.opportunities.models import AccountReplica
from tests.support.auth import headers

ACCOUNT, OTHER_ACCOUNT, CONTACT = (str(uuid.uuid4()) for _ in range(3))
REP, MATE, MANAGER, STRANGER, BOSS_ELSEWHERE = (str(uuid.uuid4()) for _ in range(5))
ADMIN = headers("admin")


class FakeAccounts:
    """Stands in for the accounts service on a replica miss."""

    def __init__(self, records=None, down=False):
        self.records = records or {}
        self.down = down
        self.calls = []

    def fetch(self, path, token, *, what, field=None, missing=(404,)):
        kind, ident = path.rsplit("/", 2)[-2:]
        self.calls.append((kind, ident, token))
        if self.down:
            raise owner_unavailable("accounts", what, "ConnectTimeoutError", errors={field: ["retry"]})
        return self.records.get((kind, ident))


@pytest.fixture
def opps(sqlite_build):
    built = sqlite_build("opportunities", gateway_url="http://127.0.0.1:1")
    built.fake = FakeAccounts()
    built.app.extensions["cadena"].use_cases.accounts = built.fake
    built.app.extensions["cadena"].directory.gateway.fetch = lambda path, token, **_: None  # "no such user"
    with built.db.transaction() as uow:
        for uid, role, team, manager in ((REP, "rep", "Iberia", MANAGER), (MATE, "rep", "Iberia", MANAGER),
                                         (MANAGER, "manager", "Iberia", None), (STRANGER, "rep", "LatAm", None),
                                         (BOSS_ELSEWHERE, "manager", "LatAm", None)):
            upsert_user(uow.session, built.db, {"id": uid, "email": f"{uid}@x.test", "name": "U", "role": role,
                                                "team": team, "manager_id": manager, "active": True})
        replica.upsert_account(uow.session, {
            "id": ACCOUNT, "name": "Construcciones Aranda S.L.", "tax_id": "B09412345", "country": "ES",
            "billing_address": {"street": "Calle Mayor 1", "city": "Burgos", "postal_code": "09001",
                                "country": "ES"}, "owner_id": REP, "version": 1})
        replica.upsert_account(uow.session, {"id": OTHER_ACCOUNT, "name": "Otra S.A.", "version": 1})
        replica.upsert_contact(uow.session, {"id": CONTACT, "first_name": "María", "last_name": "García",
                                             "email": "maria@aranda.es", "account_id": ACCOUNT, "version": 1})
    return built


def events(built, routing_key=None) -> list[dict]:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        rows = session.execute(select(outbox.c.routing_key, outbox.c.body).order_by(outbox.c.id)).all()
    return [json.loads(r.body) for r in rows if routing_key is None or r.routing_key == routing_key]


def create(built, who=ADMIN, **fields):
    body = {"name": "ERP Aranda", "account_id": ACCOUNT, "amount": {"amount": "12000.00", "currency": "EUR"},
            "owner_id": REP, **fields}
    body = {k: v for k, v in body.items() if v is not None}  # None means "leave it out"
    return built.client.post("/api/v1/opportunities", json=body, headers=who)


def test_create_defaults_from_stage_with_location_etag_and_created_event(opps):
    reply = create(opps, primary_contact_id=CONTACT)
    assert reply.status_code == 201
    body = reply.get_json()
    assert reply.headers["Location"] == f"/api/v1/opportunities/{body['id']}"
    assert reply.headers["ETag"] == '"1"'
    assert (body["stage"], body["probability"], body["forecast_category"]) == ("prospecting", 10, "pipeline")
    assert body["amount"] == {"amount": "12000.00", "currency": "EUR"}
    assert body["close_date"]  # defaults to the end of the current quarter
    [event] = events(opps)
    assert event["type"] == "opportunities.opportunity.created"
    assert event["data"]["id"] == body["id"] and event["data"]["stage"] == "prospecting"


def test_amount_is_derived_from_line_items_or_must_match_them(opps):
    lines = [{"product_code": "ERP-LIC", "description": "Licencias", "quantity": 12,
              "unit_price": {"amount": "450.00", "currency": "EUR"}},
             {"product_code": "IMPL", "quantity": "2.5", "unit_price": {"amount": "800.00", "currency": "EUR"}}]
    derived = create(opps, amount=None, line_items=lines)
    assert derived.status_code == 201, derived.get_json()
    assert derived.get_json()["amount"] == {"amount": "7400.00", "currency": "EUR"}
    assert [li["total"]["amount"] for li in derived.get_json()["line_items"]] == ["5400.00", "2000.00"]
    assert derived.get_json()["line_items"][1]["quantity"] == 2.5
    given = create(opps, line_items=lines, amount={"amount": "7400.00", "currency": "EUR"})
    assert given.status_code == 201
    usd = create(opps, amount=None, line_items=[
        {"product_code": "A", "quantity": 3, "unit_price": {"amount": "19.99", "currency": "USD"}}]).get_json()
    assert usd["amount"] == {"amount": "59.97", "currency": "USD"}
    assert usd["line_items"][0]["quantity"] == 3


@pytest.mark.parametrize("fields,error", [
    ({"amount": {"amount": "100.00", "currency": "EUR"},
      "line_items": [{"product_code": "A", "quantity": 1, "unit_price": {"amount": "99.99", "currency": "EUR"}}]},
     "amount"),
    ({"line_items": [{"product_code": "A", "quantity": 1, "unit_price": {"amount": "10.00", "currency": "USD"}}],
      "amount": {"amount": "10.00", "currency": "EUR"}}, "line_items.0.unit_price.currency"),
    ({"amount": None}, "amount"),
    ({"amount": {"amount": 12.5, "currency": "EUR"}}, "amount.amount"),
    ({"amount": {"amount": "-1.00", "currency": "EUR"}}, "amount.amount"),
    ({"line_items": [{"product_code": "A", "quantity": 0, "unit_price": {"amount": "1.00", "currency": "EUR"}}]},
     "line_items.0.quantity"),
    ({"line_items": [{"quantity": 1, "unit_price": {"amount": "1.00", "currency": "EUR"}}]}, "line_items.0.product_code"),
    ({"stage": "closed_won"}, "stage"),
    ({"stage": "won"}, "stage"),
    ({"probability": 101}, "probability"),
    ({"forecast_category": "closed"}, "forecast_category"),
    ({"account_id": str(uuid.uuid4())}, "account_id"),
    ({"primary_contact_id": str(uuid.uuid4())}, "primary_contact_id"),
    ({"owner_id": str(uuid.uuid4())}, "owner_id"),
    ({"surprise": 1}, "surprise"),
    ({"amount": {"amount": "1000000000000.00", "currency": "EUR"}}, "amount.amount"),
    ({"line_items": [{"product_code": "A", "quantity": 999999, "unit_price": {"amount": "999999999.00",
                                                                                "currency": "EUR"}}]}, "line_items"),
    ({"close_date": "1969-12-31"}, "close_date"),
    ({"close_date": "2026-02-30"}, "close_date"),
])
def test_invalid_deal_is_422_and_publishes_nothing(opps, fields, error):
    body = {"name": "X", "account_id": ACCOUNT, "amount": {"amount": "10.00", "currency": "EUR"}, "owner_id": REP}
    if "line_items" in fields and "amount" not in fields:
        body.pop("amount")
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    reply = opps.client.post("/api/v1/opportunities", json=body, headers=ADMIN)
    assert reply.status_code == 422, reply.get_json()
    assert reply.mimetype == "application/problem+json"
    assert error in reply.get_json()["errors"]
    assert events(opps) == []


def test_contact_of_another_account_is_422(opps):
    reply = create(opps, account_id=OTHER_ACCOUNT, primary_contact_id=CONTACT)
    assert reply.status_code == 422
    assert "primary_contact_id" in reply.get_json()["errors"]


def test_replica_miss_reads_the_account_once_from_accounts_with_the_callers_token(opps):
    fresh = str(uuid.uuid4())
    opps.fake.records[("accounts", fresh)] = {"id": fresh, "name": "Recién Creada S.L.", "tax_id": "B1",
                                              "country": "ES", "billing_address": None, "owner_id": REP,
                                              "version": 1}
    who = headers("rep", REP, "Iberia")
    assert create(opps, who=who, account_id=fresh).status_code == 201
    assert create(opps, who=who, account_id=fresh).status_code == 201
    assert len(opps.fake.calls) == 1  # kept in the replica
    kind, ident, token = opps.fake.calls[0]
    assert (kind, ident) == ("accounts", fresh) and token == who["Authorization"].split()[1]
    with opps.db.sessions() as session:
        assert session.get(AccountReplica, fresh).name == "Recién Creada S.L."


def test_replica_miss_with_accounts_down_is_503_saying_so(opps):
    opps.fake.down = True
    reply = create(opps, account_id=str(uuid.uuid4()))
    assert reply.status_code == 503 and reply.headers["Retry-After"]
    assert "could not confirm" in reply.get_json()["detail"] and "account_id" in reply.get_json()["errors"]


def test_deleted_account_is_refused(opps):
    with opps.db.transaction() as uow:
        replica.mark_account_deleted(uow.session, {"id": OTHER_ACCOUNT})
        replica.upsert_account(uow.session, {"id": OTHER_ACCOUNT, "name": "Revived?", "version": 9})
    assert create(opps, account_id=OTHER_ACCOUNT).status_code == 422


def test_replica_ignores_older_versions(opps):
    with opps.db.transaction() as uow:
        replica.upsert_account(uow.session, {"id": ACCOUNT, "name": "Newer", "version": 5})
        replica.upsert_account(uow.session, {"id": ACCOUNT, "name": "Older", "version": 4})
    with opps.db.sessions() as session:
        assert session.get(AccountReplica, ACCOUNT).name == "Newer"


def test_stage_moves_publish_stage_changed_and_reset_stage_defaults(opps):
    opp = create(opps).get_json()
    url = f"/api/v1/opportunities/{opp['id']}"
    moved = opps.client.patch(url, json={"stage": "proposal"}, headers=ADMIN)
    assert moved.status_code == 200
    assert (moved.get_json()["probability"], moved.get_json()["forecast_category"]) == (50, "best_case")
    assert moved.headers["ETag"] == '"2"'
    custom = opps.client.patch(url, json={"probability": 65, "forecast_category": "commit"}, headers=ADMIN).get_json()
    assert (custom["stage"], custom["probability"], custom["forecast_category"]) == ("proposal", 65, "commit")
    both = opps.client.patch(url, json={"stage": "negotiation", "probability": 80}, headers=ADMIN).get_json()
    assert (both["probability"], both["forecast_category"]) == (80, "commit")
    back = opps.client.patch(url, json={"stage": "qualification"}, headers=ADMIN).get_json()
    assert (back["probability"], back["forecast_category"]) == (25, "pipeline")
    changed = events(opps, "opportunities.opportunity.stage_changed")
    assert [(e["data"]["from_stage"], e["data"]["stage"]) for e in changed] == [
        ("prospecting", "proposal"), ("proposal", "negotiation"), ("negotiation", "qualification")]
    assert [e["type"] for e in events(opps, "opportunities.opportunity.updated")] == ["opportunities.opportunity.updated"]


def test_patch_without_a_change_publishes_nothing(opps):
    opp = create(opps).get_json()
    reply = opps.client.patch(f"/api/v1/opportunities/{opp['id']}", json={"name": opp["name"]}, headers=ADMIN)
    assert reply.status_code == 200 and reply.get_json()["version"] == 1
    assert len(events(opps)) == 1


def test_patch_lines_keeps_amount_and_lines_in_agreement(opps):
    opp = create(opps, amount=None, line_items=[
        {"product_code": "A", "quantity": 2, "unit_price": {"amount": "50.00", "currency": "EUR"}}]).get_json()
    url = f"/api/v1/opportunities/{opp['id']}"
    assert opps.client.patch(url, json={"amount": {"amount": "120.00", "currency": "EUR"}},
                             headers=ADMIN).status_code == 422
    body = opps.client.patch(url, json={"line_items": [
        {"product_code": "A", "quantity": 3, "unit_price": {"amount": "50.00", "currency": "EUR"}}]},
        headers=ADMIN).get_json()
    assert body["amount"]["amount"] == "150.00"
    body = opps.client.patch(url, json={"line_items": [], "amount": {"amount": "99.00", "currency": "EUR"}},
                             headers=ADMIN).get_json()
    assert body["line_items"] == [] and body["amount"]["amount"] == "99.00"


def test_patch_to_a_closed_stage_is_409_use_win_or_lose(opps):
    opp = create(opps).get_json()
    reply = opps.client.patch(f"/api/v1/opportunities/{opp['id']}", json={"stage": "closed_won"}, headers=ADMIN)
    assert reply.status_code == 409
    assert "/win" in reply.get_json()["detail"]
    assert len(events(opps)) == 1


def test_win_publishes_the_won_contract_once_and_closing_again_is_409(opps):
    opp = create(opps, primary_contact_id=CONTACT, amount=None, line_items=[
        {"product_code": "ERP-LIC", "description": "Licencias", "quantity": 12,
         "unit_price": {"amount": "450.00", "currency": "EUR"}},
        {"product_code": "IMPL", "description": "Implantación", "quantity": "2.5",
         "unit_price": {"amount": "800.00", "currency": "EUR"}}]).get_json()
    url = f"/api/v1/opportunities/{opp['id']}"
    won = opps.client.post(f"{url}/win", json={"reason": "Mejor precio"}, headers=ADMIN)
    assert won.status_code == 200
    body = won.get_json()
    assert (body["stage"], body["probability"], body["forecast_category"]) == ("closed_won", 100, "closed")
    assert body["closed_at"] and body["close_reason"] == "Mejor precio"
    for again in ("win", "lose"):
        reply = opps.client.post(f"{url}/{again}", json={}, headers=ADMIN)
        assert reply.status_code == 409
        assert reply.mimetype == "application/problem+json"
    [event] = events(opps, "opportunities.opportunity.won")
    data = event["data"]
    assert set(data) >= {"opportunity_id", "account", "primary_contact", "owner_id", "amount", "close_date", "won_at",
                         "line_items", "currency"}
    assert data["account"] == {"id": ACCOUNT, "name": "Construcciones Aranda S.L.", "tax_id": "B09412345",
                               "country": "ES", "billing_address": {"street": "Calle Mayor 1", "city": "Burgos",
                                                                    "postal_code": "09001", "country": "ES"}}
    assert data["primary_contact"] == {"id": CONTACT, "name": "María García", "email": "maria@aranda.es"}
    assert data["amount"] == {"amount": "7400.00", "currency": "EUR"} and data["currency"] == "EUR"
    assert [li["total"]["amount"] for li in data["line_items"]] == ["5400.00", "2000.00"]
    assert data["owner_id"] == REP and data["opportunity_id"] == opp["id"]
    # a closed deal is final
    assert opps.client.patch(url, json={"stage": "prospecting"}, headers=ADMIN).status_code == 409
    assert opps.client.patch(url, json={"amount": {"amount": "1.00", "currency": "EUR"}},
                             headers=ADMIN).status_code == 409
    assert opps.client.patch(url, json={"description": "Firmado"}, headers=ADMIN).status_code == 200
    assert opps.client.delete(url, headers=ADMIN).status_code == 409
    assert len(events(opps, "opportunities.opportunity.won")) == 1


def test_lose_publishes_lost_once(opps):
    opp = create(opps).get_json()
    url = f"/api/v1/opportunities/{opp['id']}"
    body = opps.client.post(f"{url}/lose", json={"reason": "Precio"}, headers=ADMIN).get_json()
    assert (body["stage"], body["probability"], body["forecast_category"]) == ("closed_lost", 0, "omitted")
    assert opps.client.post(f"{url}/win", json={}, headers=ADMIN).status_code == 409
    [lost] = events(opps, "opportunities.opportunity.lost")
    assert lost["data"] == {**lost["data"], "opportunity_id": opp["id"], "account_id": ACCOUNT, "reason": "Precio",
                            "amount": {"amount": "12000.00", "currency": "EUR"}}
    assert events(opps, "opportunities.opportunity.won") == []


def test_stale_if_match_is_412_and_changes_nothing(opps):
    opp = create(opps).get_json()
    url = f"/api/v1/opportunities/{opp['id']}"
    opps.client.patch(url, json={"stage": "qualification"}, headers=ADMIN)
    assert opps.client.patch(url, json={"stage": "proposal"}, headers={**ADMIN, "If-Match": '"1"'}).status_code == 412
    assert opps.client.post(f"{url}/win", json={}, headers={**ADMIN, "If-Match": '"1"'}).status_code == 412
    assert opps.client.get(url, headers=ADMIN).get_json()["stage"] == "qualification"
    assert opps.client.patch(url, json={"stage": "proposal"}, headers={**ADMIN, "If-Match": '"2"'}).status_code == 200


def test_unknown_deal_is_404(opps):
    missing = str(uuid.uuid4())
    assert opps.client.get(f"/api/v1/opportunities/{missing}", headers=ADMIN).status_code == 404
    assert opps.client.post(f"/api/v1/opportunities/{missing}/win", json={}, headers=ADMIN).status_code == 404


def test_delete_is_soft_and_publishes(opps):
    opp = create(opps).get_json()
    url = f"/api/v1/opportunities/{opp['id']}"
    assert opps.client.delete(url, headers=ADMIN).status_code == 204
    assert opps.client.get(url, headers=ADMIN).status_code == 404
    assert opps.client.get("/api/v1/opportunities", headers=ADMIN).get_json()["items"] == []
    [deleted] = events(opps, "opportunities.opportunity.deleted")
    assert deleted["data"]["account_id"] == ACCOUNT


def test_list_filters_and_keyset_pages(opps):
    ids = [create(opps, name=f"Deal {i}").get_json()["id"] for i in range(5)]
    opps.client.post(f"/api/v1/opportunities/{ids[0]}/win", json={}, headers=ADMIN)
    seen, cursor = [], None
    while True:
        page = opps.client.get(f"/api/v1/opportunities?limit=2{'&cursor=' + cursor if cursor else ''}",
                               headers=ADMIN).get_json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert len(opps.client.get("/api/v1/opportunities?status=open", headers=ADMIN).get_json()["items"]) == 4
    assert [o["id"] for o in opps.client.get("/api/v1/opportunities?status=won",
                                             headers=ADMIN).get_json()["items"]] == [ids[0]]
    assert opps.client.get("/api/v1/opportunities?limit=0", headers=ADMIN).status_code == 422
    assert opps.client.get("/api/v1/opportunities?q=Deal%203", headers=ADMIN).get_json()["items"][0]["id"] == ids[3]


def test_stages_endpoint_lists_the_contract_stages(opps):
    body = opps.client.get("/api/v1/pipeline/stages", headers=ADMIN).get_json()
    assert [(s["stage"], s["probability"]) for s in body["items"]] == [
        ("prospecting", 10), ("qualification", 25), ("proposal", 50), ("negotiation", 75), ("closed_won", 100),
        ("closed_lost", 0)]


# -- permissions (CONTRACTS §3) ---------------------------------------------------------

def test_rep_changes_only_own_deals_and_creates_only_for_itself(opps):
    rep = headers("rep", REP, "Iberia")
    mate = headers("rep", MATE, "Iberia")
    assert create(opps, who=rep, owner_id=MATE).status_code == 403
    opp = create(opps, who=rep).get_json()
    url = f"/api/v1/opportunities/{opp['id']}"
    assert opps.client.patch(url, json={"stage": "proposal"}, headers=mate).status_code == 403
    assert opps.client.post(f"{url}/win", json={}, headers=mate).status_code == 403
    assert opps.client.get(url, headers=mate).status_code == 200
    assert opps.client.patch(url, json={"stage": "proposal"}, headers=rep).status_code == 200
    assert opps.client.patch(url, json={"owner_id": MATE}, headers=rep).status_code == 403


def test_manager_changes_its_teams_deals_only(opps):
    opp = create(opps).get_json()
    foreign = create(opps, owner_id=STRANGER).get_json()
    manager = headers("manager", MANAGER, "Iberia")
    assert opps.client.post(f"/api/v1/opportunities/{opp['id']}/win", json={}, headers=manager).status_code == 200
    assert opps.client.patch(f"/api/v1/opportunities/{foreign['id']}", json={"stage": "proposal"},
                             headers=manager).status_code == 403


@pytest.mark.parametrize("role", ["readonly", "support", "marketing"])
def test_other_roles_may_read_but_not_write(opps, role):
    who = headers(role, str(uuid.uuid4()), "Iberia")
    assert opps.client.get("/api/v1/opportunities", headers=who).status_code == 200
    assert opps.client.get("/api/v1/pipeline", headers=who).status_code == 200
    assert create(opps, who=who, owner_id=None).status_code == 403


def test_missing_token_is_401(opps):
    assert opps.client.get("/api/v1/pipeline").status_code == 401


# -- quotas ------------------------------------------------------------------------------

def test_quota_put_creates_then_replaces(opps):
    url = f"/api/v1/quotas/{REP}/2026-Q4"
    first = opps.client.put(url, json={"amount": {"amount": "50000.00", "currency": "EUR"}}, headers=ADMIN)
    assert first.status_code == 201 and first.headers["Location"] == url
    second = opps.client.put(url, json={"amount": {"amount": "60000.00", "currency": "EUR"}},
                             headers={**ADMIN, "If-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.get_json()["amount"]["amount"] == "60000.00"
    stale = opps.client.put(url, json={"amount": {"amount": "1.00", "currency": "EUR"}},
                            headers={**ADMIN, "If-Match": first.headers["ETag"]})
    assert stale.status_code == 412
    assert opps.client.get(url, headers=ADMIN).get_json()["amount"]["amount"] == "60000.00"


@pytest.mark.parametrize("period", ["2026-Q5", "2026-13", "2026-4", "Q4", "2026-q4"])
def test_quota_with_a_bad_period_is_422(opps, period):
    reply = opps.client.put(f"/api/v1/quotas/{REP}/{period}", json={"amount": {"amount": "1.00", "currency": "EUR"}},
                            headers=ADMIN)
    assert reply.status_code == 422
    assert "period" in reply.get_json()["errors"]


def test_quota_is_set_by_admin_or_the_users_manager(opps):
    body = {"amount": {"amount": "1000.00", "currency": "EUR"}}
    assert opps.client.put(f"/api/v1/quotas/{REP}/2026-11", json=body,
                           headers=headers("manager", MANAGER, "Iberia")).status_code == 201
    assert opps.client.put(f"/api/v1/quotas/{REP}/2026-12", json=body,
                           headers=headers("manager", BOSS_ELSEWHERE, "LatAm")).status_code == 403
    assert opps.client.put(f"/api/v1/quotas/{REP}/2026-12", json=body,
                           headers=headers("rep", REP, "Iberia")).status_code == 403
    assert opps.client.put(f"/api/v1/quotas/{str(uuid.uuid4())}/2026-12", json=body, headers=ADMIN).status_code == 404
    assert opps.client.put(f"/api/v1/quotas/{REP}/2026-12", json={"amount": {"amount": "-5.00", "currency": "EUR"}},
                           headers=ADMIN).status_code == 422


def test_handover_moves_open_deals_only_and_reports_once(opps):
    from shared import events as cloud
    from shared import inbox
    from services.opportunities.handlers import HANDLERS

    open_deal = create(opps).get_json()
    won_deal = create(opps).get_json()
    opps.client.post(f"/api/v1/opportunities/{won_deal['id']}/win", json={}, headers=ADMIN)
    handover_id = str(uuid.uuid4())
    event = cloud.new_event(source="gateway", type="identity.user.handover_requested", subject=handover_id,
                            data={"handover_id": handover_id, "from_user_id": REP, "to_user_id": MATE})
    assert inbox.handle(opps.db, "cadena.opportunities.events", HANDLERS, event["type"], cloud.encode(event)) == "ack"
    assert opps.client.get(f"/api/v1/opportunities/{open_deal['id']}", headers=ADMIN).get_json()["owner_id"] == MATE
    assert opps.client.get(f"/api/v1/opportunities/{won_deal['id']}", headers=ADMIN).get_json()["owner_id"] == REP
    [done] = events(opps, "opportunities.handover.completed")
    assert done["data"] == {"handover_id": handover_id, "service": "opportunities", "moved": {"opportunities": 1}}
    assert opps.client.get(f"/api/v1/pipeline?owner_id={MATE}", headers=ADMIN).get_json()["totals"]["count"] == 1


def test_the_api_description_is_valid_openapi():
    from openapi_spec_validator import validate

    from gateway.openapi import service_spec

    spec = service_spec("opportunities")
    validate(spec)
    assert {"/api/v1/opportunities/{opportunity_id}/win", "/api/v1/pipeline", "/api/v1/forecast",
            "/api/v1/quotas/{user_id}/{period}", "/api/v1/pipeline/stages"} <= set(spec["paths"])


def test_deals_filtered_by_the_owners_team(opps):
    iberia = [create(opps).get_json()["id"], create(opps, owner_id=MATE).get_json()["id"]]
    create(opps, owner_id=STRANGER)
    found = opps.client.get("/api/v1/opportunities?team=Iberia", headers=ADMIN).get_json()["items"]
    assert sorted(o["id"] for o in found) == sorted(iberia)
