"""Accounts' use cases through its HTTP layer, on SQLite (no broker)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from shared.auth import upsert_user
from tests.support.auth import headers


def outbox_count(built) -> int:
    with built.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(built.db.tables.outbox))


def add_user(built, user_id, role="rep", team="Iberia"):
    with built.db.transaction() as uow:
        upsert_user(uow.session, built.db, {"id": user_id, "email": f"{user_id}@x.test", "name": "U",
                                            "role": role, "team": team, "active": True})


def test_create_account_answers_201_with_location_etag_and_one_event(accounts, admin):
    reply = accounts.client.post("/api/v1/accounts", json={
        "name": "Bodegas Valdeolmos S.A.", "country": "ES", "segment": "relational",
        "annual_revenue": {"amount": "9200000.00", "currency": "EUR"},
        "billing_address": {"street": "Calle Mayor 1", "city": "Haro", "postal_code": "26200", "country": "ES"}},
        headers=admin)
    assert reply.status_code == 201
    body = reply.get_json()
    assert reply.headers["Location"] == f"/api/v1/accounts/{body['id']}"
    assert reply.headers["ETag"] == '"1"'
    assert body["annual_revenue"] == {"amount": "9200000.00", "currency": "EUR"}
    assert body["version"] == 1
    assert outbox_count(accounts) == 1


@pytest.mark.parametrize("payload,field", [
    ({"name": ""}, "name"),
    ({"name": "X", "segment": "vip"}, "segment"),
    ({"name": "X", "country": "Spain"}, "country"),
    ({"name": "X", "annual_revenue": {"amount": 12.5, "currency": "EUR"}}, "annual_revenue.amount"),
    ({"name": "X", "annual_revenue": {"amount": "1.001", "currency": "EUR"}}, "annual_revenue.amount"),
    ({"name": "X", "annual_revenue": {"amount": "-1", "currency": "EUR"}}, "annual_revenue.amount"),
    ({"name": "X", "annual_revenue": {"amount": "1", "currency": "EURO"}}, "annual_revenue.currency"),
    ({"name": "X", "parent_account_id": str(uuid.uuid4())}, "parent_account_id"),
    ({"name": "X", "unknown_field": 1}, "unknown_field"),
])
def test_invalid_account_is_422_and_writes_nothing(accounts, admin, payload, field):
    reply = accounts.client.post("/api/v1/accounts", json=payload, headers=admin)
    assert reply.status_code == 422
    assert reply.mimetype == "application/problem+json"
    assert field in reply.get_json()["errors"]
    assert outbox_count(accounts) == 0


def test_malformed_json_is_400_problem(accounts, admin):
    reply = accounts.client.post("/api/v1/accounts", data="{nope", headers={**admin, "Content-Type": "application/json"})
    assert reply.status_code == 400
    assert reply.get_json()["title"] == "Bad request"


def test_duplicate_email_is_409_naming_the_existing_contact(accounts, admin):
    first = accounts.client.post("/api/v1/contacts", json={"first_name": "Ana", "email": "Ana@Example.es"}, headers=admin)
    again = accounts.client.post("/api/v1/contacts", json={"first_name": "Otra", "email": "ana@example.es"}, headers=admin)
    assert again.status_code == 409
    assert again.get_json()["existing_id"] == first.get_json()["id"]
    assert first.get_json()["id"] in again.get_json()["detail"]


def test_new_contact_is_a_prospect_and_email_is_normalised(accounts, admin):
    body = accounts.client.post("/api/v1/contacts", json={"last_name": "Gómez", "email": "LUIS@Example.ES"},
                                headers=admin).get_json()
    assert body["lifecycle_stage"] == "prospect"
    assert body["email"] == "luis@example.es"


def test_org_chart_is_a_tree_by_reports_to(accounts, admin):
    account = accounts.client.post("/api/v1/accounts", json={"name": "Aceros SA"}, headers=admin).get_json()
    ceo = accounts.client.post("/api/v1/contacts", json={"first_name": "Eva", "account_id": account["id"],
                                                          "role": "decision_maker"}, headers=admin).get_json()
    buyer = accounts.client.post("/api/v1/contacts", json={"first_name": "Raúl", "account_id": account["id"],
                                                            "reports_to_id": ceo["id"], "role": "influencer"},
                                 headers=admin).get_json()
    accounts.client.post("/api/v1/contacts", json={"first_name": "Sara", "account_id": account["id"],
                                                   "reports_to_id": buyer["id"]}, headers=admin)
    chart = accounts.client.get(f"/api/v1/accounts/{account['id']}/org-chart", headers=admin).get_json()
    assert [n["name"] for n in chart["roots"]] == ["Eva"]
    assert chart["roots"][0]["reports"][0]["name"] == "Raúl"
    assert chart["roots"][0]["reports"][0]["reports"][0]["name"] == "Sara"


def test_reporting_line_cannot_cross_accounts_or_cycle(accounts, admin):
    a = accounts.client.post("/api/v1/accounts", json={"name": "A"}, headers=admin).get_json()
    b = accounts.client.post("/api/v1/accounts", json={"name": "B"}, headers=admin).get_json()
    boss = accounts.client.post("/api/v1/contacts", json={"first_name": "Jefa", "account_id": a["id"]}, headers=admin).get_json()
    other = accounts.client.post("/api/v1/contacts", json={"first_name": "X", "account_id": b["id"],
                                                            "reports_to_id": boss["id"]}, headers=admin)
    assert other.status_code == 422
    report = accounts.client.post("/api/v1/contacts", json={"first_name": "Y", "account_id": a["id"],
                                                             "reports_to_id": boss["id"]}, headers=admin).get_json()
    cycle = accounts.client.patch(f"/api/v1/contacts/{boss['id']}", json={"reports_to_id": report["id"]}, headers=admin)
    assert cycle.status_code == 422


def test_stale_if_match_is_412_and_changes_nothing(accounts, admin):
    account = accounts.client.post("/api/v1/accounts", json={"name": "Hotel Azahar"}, headers=admin).get_json()
    ok = accounts.client.patch(f"/api/v1/accounts/{account['id']}", json={"city": "Castellón"},
                               headers={**admin, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = accounts.client.patch(f"/api/v1/accounts/{account['id']}", json={"city": "Madrid"},
                                  headers={**admin, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert accounts.client.get(f"/api/v1/accounts/{account['id']}", headers=admin).get_json()["city"] == "Castellón"


def test_keyset_pages_cover_every_row_once(accounts, admin):
    created = {accounts.client.post("/api/v1/accounts", json={"name": f"Empresa {i:02d}"}, headers=admin).get_json()["id"]
               for i in range(7)}
    seen, cursor = [], None
    while True:
        url = "/api/v1/accounts?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = accounts.client.get(url, headers=admin).get_json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "cursor=%%%"])
def test_bad_list_parameters_are_422(accounts, admin, query):
    assert accounts.client.get(f"/api/v1/accounts?{query}", headers=admin).status_code == 422


def test_filters_and_text_search(accounts, admin):
    accounts.client.post("/api/v1/accounts", json={"name": "Minera Atacama", "country": "CL"}, headers=admin)
    accounts.client.post("/api/v1/accounts", json={"name": "Aceros de Monterrey", "country": "MX"}, headers=admin)
    assert [a["name"] for a in accounts.client.get("/api/v1/accounts?country=CL", headers=admin).get_json()["items"]] == ["Minera Atacama"]
    assert [a["name"] for a in accounts.client.get("/api/v1/accounts?q=aceros", headers=admin).get_json()["items"]] == ["Aceros de Monterrey"]


def test_soft_delete_leaves_lists_and_publishes(accounts, admin):
    account = accounts.client.post("/api/v1/accounts", json={"name": "Temporal SL"}, headers=admin).get_json()
    assert accounts.client.delete(f"/api/v1/accounts/{account['id']}", headers=admin).status_code == 204
    assert accounts.client.get(f"/api/v1/accounts/{account['id']}", headers=admin).status_code == 404
    assert accounts.client.get("/api/v1/accounts", headers=admin).get_json()["items"] == []
    with accounts.db.sessions() as session:
        keys = session.scalars(select(accounts.db.tables.outbox.c.routing_key)).all()
    assert keys == ["accounts.account.created", "accounts.account.deleted"]


def test_rep_may_not_create_for_someone_else(accounts):
    me = str(uuid.uuid4())
    other = str(uuid.uuid4())
    add_user(accounts, other)
    reply = accounts.client.post("/api/v1/accounts", json={"name": "Ajena", "owner_id": other}, headers=headers("rep", me))
    assert reply.status_code == 403
    own = accounts.client.post("/api/v1/accounts", json={"name": "Propia"}, headers=headers("rep", me))
    assert own.status_code == 201 and own.get_json()["owner_id"] == me


def test_manager_changes_team_records_only(accounts, admin):
    rep, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    add_user(accounts, rep, team="Iberia")
    add_user(accounts, stranger, team="LatAm")
    mine = accounts.client.post("/api/v1/accounts", json={"name": "Equipo", "owner_id": rep}, headers=admin).get_json()
    theirs = accounts.client.post("/api/v1/accounts", json={"name": "Fuera", "owner_id": stranger}, headers=admin).get_json()
    manager = headers("manager", str(uuid.uuid4()), team="Iberia")
    assert accounts.client.patch(f"/api/v1/accounts/{mine['id']}", json={"city": "León"}, headers=manager).status_code == 200
    assert accounts.client.patch(f"/api/v1/accounts/{theirs['id']}", json={"city": "León"}, headers=manager).status_code == 403


def test_readonly_may_only_read(accounts):
    ro = headers("readonly")
    assert accounts.client.get("/api/v1/accounts", headers=ro).status_code == 200
    assert accounts.client.post("/api/v1/accounts", json={"name": "No"}, headers=ro).status_code == 403


def test_missing_or_bad_token_is_401(accounts):
    assert accounts.client.get("/api/v1/accounts").status_code == 401
    assert accounts.client.get("/api/v1/accounts", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_unknown_owner_is_422(accounts, admin):
    accounts.app.extensions["cadena"].directory.gateway.fetch = lambda path, token, **_: None  # "no such user"
    reply = accounts.client.post("/api/v1/accounts", json={"name": "X", "owner_id": str(uuid.uuid4())}, headers=admin)
    assert reply.status_code == 422 and "owner_id" in reply.get_json()["errors"]


def test_an_owner_the_gateway_cannot_vouch_for_is_503_not_a_false_422(accounts, admin):
    reply = accounts.client.post("/api/v1/accounts", json={"name": "X", "owner_id": str(uuid.uuid4())}, headers=admin)
    problem = reply.get_json()
    assert reply.status_code == 503 and problem["type"].endswith("/owner-unavailable"), problem
    assert reply.headers["Retry-After"] and problem["service"] == "gateway"
    assert accounts.client.get("/api/v1/accounts", headers=admin).get_json()["items"] == []


def test_account_view_defaults_and_health(accounts, admin):
    account = accounts.client.post("/api/v1/accounts", json={"name": "Nueva"}, headers=admin).get_json()
    view = accounts.client.get(f"/api/v1/accounts/{account['id']}/view", headers=admin).get_json()
    assert view["open_cases"] == 0
    assert view["open_pipeline"] == {"amount": "0.00", "currency": "EUR"}
    assert 0 <= view["health_score"] <= 100 and view["churn_risk"] in ("low", "medium", "high")


def test_health_endpoints(accounts):
    assert accounts.client.get("/healthz").status_code == 200
    ready = accounts.client.get("/readyz")  # the broker URL points nowhere here
    assert ready.status_code == 503 and "broker" in ready.get_json()["detail"]
    assert b"cadena_outbox_backlog" in accounts.client.get("/metrics").data


def test_handover_moves_live_accounts_and_contacts_and_reports(accounts, admin):
    from shared import inbox
    from shared.events import encode, new_event

    from services.accounts.handlers import HANDLERS

    leaving, successor = str(uuid.uuid4()), str(uuid.uuid4())
    for uid in (leaving, successor):
        add_user(accounts, uid)
    account = accounts.client.post("/api/v1/accounts", json={"name": "Traspaso", "owner_id": leaving},
                                   headers=admin).get_json()
    accounts.client.post("/api/v1/contacts", json={"first_name": "Iker", "owner_id": leaving}, headers=admin)
    gone = accounts.client.post("/api/v1/contacts", json={"first_name": "Baja", "owner_id": leaving},
                                headers=admin).get_json()
    accounts.client.delete(f"/api/v1/contacts/{gone['id']}", headers=admin)
    event = new_event(source="gateway", type="identity.user.handover_requested", subject="h1",
                      data={"handover_id": "h1", "from_user_id": leaving, "to_user_id": successor})
    assert inbox.handle(accounts.db, "q", HANDLERS, event["type"], encode(event)) == inbox.ACK
    assert accounts.client.get(f"/api/v1/accounts/{account['id']}", headers=admin).get_json()["owner_id"] == successor
    with accounts.db.sessions() as session:
        outbox = accounts.db.tables.outbox
        done = session.execute(select(outbox.c.body).where(outbox.c.routing_key == "accounts.handover.completed")).all()
    assert len(done) == 1
    from shared.events import decode

    assert decode(done[0].body)["data"] == {"handover_id": "h1", "service": "accounts",
                                            "moved": {"accounts": 1, "contacts": 1}}


def test_patch_that_changes_nothing_answers_the_unchanged_record(accounts, admin):
    account = accounts.client.post("/api/v1/accounts", json={"name": "Igual SL", "city": "Soria"}, headers=admin).get_json()
    contact = accounts.client.post("/api/v1/contacts", json={"first_name": "Pilar"}, headers=admin).get_json()
    same = accounts.client.patch(f"/api/v1/accounts/{account['id']}", json={"city": "Soria"}, headers=admin)
    assert same.status_code == 200 and same.get_json()["version"] == 1
    assert accounts.client.patch(f"/api/v1/contacts/{contact['id']}", json={"first_name": "Pilar"},
                                 headers=admin).status_code == 200


def test_each_app_reports_its_own_outbox_backlog(sqlite_build, admin):
    accounts, support = sqlite_build("accounts"), sqlite_build("support")
    assert accounts.client.post("/api/v1/accounts", json={"name": "Métricas Propias S.L."}, headers=admin).status_code == 201
    first = accounts.client.get("/metrics").data.decode()
    second = support.client.get("/metrics").data.decode()
    assert 'cadena_outbox_backlog{component="accounts"} 1.0' in first
    assert 'cadena_outbox_backlog{component="support"} 0.0' in second
    assert 'cadena_outbox_backlog{component="accounts"}' not in second


def test_a_contact_is_found_by_phone_digits_however_typed(accounts, admin):
    made = accounts.client.post("/api/v1/contacts", json={"first_name": "Pepe", "phone": "+34 (612) 345-678"},
                                headers=admin).get_json()
    accounts.client.post("/api/v1/contacts", json={"first_name": "Otro", "phone": "+34 699 000 111"}, headers=admin)
    for typed in ("612345678", "612 345 678", "+34612345678"):
        found = accounts.client.get(f"/api/v1/contacts?q={typed}", headers=admin).get_json()["items"]
        assert [c["id"] for c in found] == [made["id"]], typed


def test_accounts_filtered_by_the_lifecycle_of_their_contacts(accounts, admin):
    with_customer = accounts.client.post("/api/v1/accounts", json={"name": "Con cliente"}, headers=admin).get_json()
    prospects_only = accounts.client.post("/api/v1/accounts", json={"name": "Solo prospectos"}, headers=admin).get_json()
    accounts.client.post("/api/v1/contacts", json={"first_name": "A", "account_id": with_customer["id"],
                                                   "lifecycle_stage": "active_customer"}, headers=admin)
    accounts.client.post("/api/v1/contacts", json={"first_name": "B", "account_id": prospects_only["id"]}, headers=admin)
    found = accounts.client.get("/api/v1/accounts?lifecycle_stage=active_customer", headers=admin).get_json()["items"]
    assert [a["id"] for a in found] == [with_customer["id"]]
    assert accounts.client.get("/api/v1/accounts?lifecycle_stage=nope", headers=admin).status_code == 422
