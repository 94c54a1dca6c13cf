"""GET /internal/v1/parts: several reads of a service in one call, each
answered exactly as if it had been sent alone, on one read session."""
from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest

from shared.parts import MAX_PARTS, PATH
from tests.support.auth import headers


def customer(built, admin) -> str:
    account = built.client.post("/api/v1/accounts", json={"name": "Bodegas Valdeolmos S.A.", "country": "ES"},
                                headers=admin).get_json()
    for first in ("Lucía", "Íñigo"):
        contact = {"first_name": first, "last_name": "Ortega", "account_id": account["id"]}
        assert built.client.post("/api/v1/contacts", json=contact, headers=admin).status_code == 201
    return account["id"]


def plan(account_id: str) -> dict[str, str]:
    return {"account": f"/api/v1/accounts/{account_id}", "view": f"/api/v1/accounts/{account_id}/view",
            "contacts": f"/api/v1/accounts/{account_id}/contacts?limit=200&sort=last_name"}


def parts(built, wanted: dict[str, str], hdrs: dict):
    return built.client.get(f"{PATH}?{urlencode(wanted)}", headers=hdrs)


def test_every_part_answers_as_it_would_alone(accounts, admin):
    account_id = customer(accounts, admin)
    reply = parts(accounts, plan(account_id), admin)
    assert reply.status_code == 200 and reply.mimetype == "application/json"
    body = reply.get_json()
    assert list(body) == ["account", "view", "contacts"]  # in the order asked
    for name, path in plan(account_id).items():
        alone = accounts.client.get(path, headers=admin)
        assert body[name] == {"status": alone.status_code, "body": alone.get_json()}, name
    assert len(body["contacts"]["body"]["items"]) == 2


def test_the_parts_share_one_read_session(accounts, admin, monkeypatch):
    account_id = customer(accounts, admin)
    opened = []
    make = accounts.db.reads

    def counting():
        opened.append(1)
        return make()

    monkeypatch.setattr(accounts.db, "reads", counting)
    assert parts(accounts, plan(account_id), admin).status_code == 200
    assert len(opened) == 1
    opened.clear()
    for path in plan(account_id).values():
        accounts.client.get(path, headers=admin)
    assert len(opened) == 3


def test_a_missing_record_is_that_part_only(accounts, admin):
    account_id = customer(accounts, admin)
    missing = str(uuid.uuid4())
    body = parts(accounts, {"known": f"/api/v1/accounts/{account_id}", "missing": f"/api/v1/accounts/{missing}",
                            "bad": "/api/v1/contacts?limit=0"}, admin).get_json()
    assert body["known"]["status"] == 200 and body["known"]["body"]["id"] == account_id
    assert body["missing"]["status"] == 404 and body["missing"]["body"]["status"] == 404
    assert body["bad"]["status"] == 422 and "limit" in body["bad"]["body"]["errors"]


def test_a_part_that_is_not_json_is_not_read(accounts, admin, monkeypatch):
    """A CSV export as a part: its status, a null body, and not one row of its stream made."""
    from services.accounts import export

    customer(accounts, admin)
    made = []
    monkeypatch.setattr(export, "contact_dict", lambda contact: made.append(contact) or {})
    body = parts(accounts, {"csv": "/api/v1/contacts/export", "one": "/api/v1/contacts?limit=1"}, admin).get_json()
    assert body["csv"] == {"status": 200, "body": None}
    assert body["one"]["status"] == 200 and len(body["one"]["body"]["items"]) == 1
    assert made == []
    alone = accounts.client.get("/api/v1/contacts/export", headers=admin)
    assert alone.status_code == 200 and alone.get_data() and len(made) == 2  # read alone, it makes its rows


def test_each_part_is_authenticated(accounts, admin):
    account_id = customer(accounts, admin)
    body = parts(accounts, plan(account_id), {}).get_json()
    assert {part["status"] for part in body.values()} == {401}
    assert body["account"]["body"]["status"] == 401  # the problem, not the record


@pytest.mark.parametrize("query,why", [
    ("", "at least one part"),
    (urlencode([("a", "/api/v1/accounts")] * 2), "name of its own"),
    (urlencode({f"p{i}": "/api/v1/accounts" for i in range(MAX_PARTS + 1)}), f"At most {MAX_PARTS}"),
    (urlencode({"a": "/healthz"}), "under /api/v1/"),
    (urlencode({"a": "http://elsewhere.example/api/v1/accounts"}), "under /api/v1/"),
    (urlencode({"a": "/api/v1/../internal/v1/parts"}), "under /api/v1/"),
    (urlencode({"a": "/api/v1/%2e%2e/metrics"}), "under /api/v1/"),
])
def test_a_bad_list_of_parts_is_400_problem(accounts, admin, query, why):
    reply = accounts.client.get(f"{PATH}?{query}", headers=admin)
    assert reply.status_code == 400 and reply.mimetype == "application/problem+json"
    assert why in reply.get_json()["detail"]


@pytest.mark.parametrize("query,status", [
    ("a=/api/v1/contacts%ff", 404),  # not UTF-8 in the path
    ("a=/api/v1/contacts?limit=%ff", 422),  # … in a part's query: refused as the same query sent alone is
    ("a=%2Fapi%2Fv1%2Fcontacts%3Flimit%3D%25ff", 422),
    ("a=/api/v1/con%00tacts", 422),
    ("a=/api/v1/contacts/%E2%82%AC", 404),
    ("%ff=/api/v1/contacts", 200),
    ("a=/api/v1/" + "x" * 5000, 404),
])
def test_garbage_is_each_parts_own_4xx(accounts, admin, query, status):
    reply = accounts.client.get(f"{PATH}?{query}", headers=admin)
    assert reply.status_code == 200
    [part] = reply.get_json().values()
    assert part["status"] == status


def test_only_get(accounts, admin):
    reply = accounts.client.post(f"{PATH}?{urlencode({'a': '/api/v1/accounts'})}", headers=admin, json={})
    assert reply.status_code == 405 and reply.headers["Allow"] == "GET"
    assert reply.mimetype == "application/problem+json"


def test_the_gateway_offers_no_parts(sqlite_build):
    gateway = sqlite_build("gateway")
    reply = gateway.client.get(f"{PATH}?{urlencode({'a': '/api/v1/accounts'})}", headers=headers("admin"))
    assert reply.status_code == 404
