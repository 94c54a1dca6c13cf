"""Identity, idempotency and the OpenAPI document, on SQLite (no broker)."""
from __future__ import annotations

import jwt
import pytest


@pytest.fixture
def gateway(sqlite_build):
    return sqlite_build("gateway")


def login(client, email="admin@cadena.local", password="admin"):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


@pytest.fixture
def admin(gateway):
    return {"Authorization": "Bearer " + login(gateway.client).get_json()["access_token"]}


def test_token_is_rs256_and_verifiable_with_the_jwks(gateway):
    reply = login(gateway.client)
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["refresh_token"]
    jwks = gateway.client.get("/api/v1/auth/jwks.json").get_json()
    key = jwt.PyJWKSet.from_dict(jwks).keys[0].key
    claims = jwt.decode(body["access_token"], key, algorithms=["RS256"], audience="cadena-api")
    assert claims["role"] == "admin"


def test_wrong_password_and_unknown_email_answer_the_same(gateway):
    wrong = login(gateway.client, password="nope")
    unknown = login(gateway.client, email="nadie@cadena.local")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["detail"] == unknown.get_json()["detail"]


def test_admin_creates_users_and_password_is_never_returned(gateway, admin):
    reply = gateway.client.post("/api/v1/users", json={"email": "rep@cadena.local", "name": "Rep", "role": "rep",
                                                       "team": "Iberia", "password": "long-enough"}, headers=admin)
    assert reply.status_code == 201
    assert "password" not in reply.get_json() and "password_hash" not in reply.get_json()
    assert login(gateway.client, "rep@cadena.local", "long-enough").status_code == 200


def test_deactivated_user_cannot_log_in(gateway, admin):
    user = gateway.client.post("/api/v1/users", json={"email": "ex@cadena.local", "name": "Ex", "role": "rep",
                                                      "password": "long-enough"}, headers=admin).get_json()
    assert gateway.client.patch(f"/api/v1/users/{user['id']}", json={"active": False}, headers=admin).status_code == 200
    assert login(gateway.client, "ex@cadena.local", "long-enough").status_code == 401


def test_only_admin_creates_users(gateway, admin):
    gateway.client.post("/api/v1/users", json={"email": "r@cadena.local", "name": "R", "role": "rep",
                                               "password": "long-enough"}, headers=admin)
    rep = {"Authorization": "Bearer " + login(gateway.client, "r@cadena.local", "long-enough").get_json()["access_token"]}
    reply = gateway.client.post("/api/v1/users", json={"email": "x@cadena.local", "name": "X", "role": "admin",
                                                       "password": "long-enough"}, headers=rep)
    assert reply.status_code == 403


@pytest.mark.parametrize("payload,field", [
    ({"email": "bad", "name": "X", "role": "rep", "password": "long-enough"}, "email"),
    ({"email": "a@b.es", "name": "X", "role": "king", "password": "long-enough"}, "role"),
    ({"email": "a@b.es", "name": "X", "role": "rep", "password": "short"}, "password"),
])
def test_invalid_user_is_422(gateway, admin, payload, field):
    reply = gateway.client.post("/api/v1/users", json=payload, headers=admin)
    assert reply.status_code == 422 and field in reply.get_json()["errors"]


def test_idempotency_key_replays_the_first_answer(gateway, admin):
    body = {"email": "idem@cadena.local", "name": "Idem", "role": "rep", "password": "long-enough"}
    key = {**admin, "Idempotency-Key": "abc-123"}
    first = gateway.client.post("/api/v1/users", json=body, headers=key)
    again = gateway.client.post("/api/v1/users", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    other = gateway.client.post("/api/v1/users", json={**body, "name": "Otro"}, headers=key)
    assert other.status_code == 422
    users = gateway.client.get("/api/v1/users?q=idem", headers=admin).get_json()["items"]
    assert len(users) == 1


def test_failed_request_frees_its_idempotency_key(gateway, admin):
    key = {**admin, "Idempotency-Key": "retry-me"}
    bad = gateway.client.post("/api/v1/users", json={"email": "x@cadena.local"}, headers=key)
    assert bad.status_code == 422
    good = gateway.client.post("/api/v1/users", json={"email": "x@cadena.local", "name": "X", "role": "rep",
                                                      "password": "long-enough"}, headers=key)
    assert good.status_code == 201


def test_unknown_api_path_is_404_problem(gateway, admin):
    reply = gateway.client.get("/api/v1/nothing-here", headers=admin)
    assert reply.status_code == 404 and reply.mimetype == "application/problem+json"


def test_service_down_is_503_problem_not_a_traceback(gateway, admin):
    # Nothing listens on the accounts URL in unit tests.
    gateway.app.extensions["cadena"].clients["accounts"].base_url = "http://127.0.0.1:1"
    reply = gateway.client.get("/api/v1/accounts", headers=admin)
    assert reply.status_code == 503
    assert reply.get_json()["service"] == "accounts"


def test_openapi_covers_gateway_and_service_routes(gateway):
    spec = gateway.client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    for path in ("/api/v1/auth/token", "/api/v1/users", "/api/v1/accounts", "/api/v1/contacts/{contact_id}",
                 "/api/v1/accounts/{account_id}/org-chart"):
        assert path in spec["paths"], path


def test_readonly_writes_are_refused_by_whoever_owns_the_route(gateway, admin):
    gateway.client.post("/api/v1/users", json={"email": "ro@cadena.local", "name": "RO", "role": "readonly",
                                               "password": "long-enough"}, headers=admin)
    readonly = {"Authorization": "Bearer " + login(gateway.client, "ro@cadena.local", "long-enough").get_json()["access_token"]}
    # the gateway's own route: refused here
    assert gateway.client.post("/api/v1/api-clients", json={}, headers=readonly).status_code == 403
    # a forwarded route: the owning service decides (a segment count only reads), so it is forwarded
    gateway.app.extensions["cadena"].clients["campaigns"].base_url = "http://127.0.0.1:1"
    reply = gateway.client.post("/api/v1/campaigns/segment-count", json={"segment": {}}, headers=readonly)
    assert reply.status_code == 503 and reply.get_json()["service"] == "campaigns"
