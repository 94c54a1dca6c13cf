"""CONTRACTS §7 at the unit level: the order of checks, bodies, headers,
problem types, refresh tokens, throttling, API clients and revocation."""
from __future__ import annotations

import io
import json
import uuid

import jwt
import pytest
from sqlalchemy import select

from shared.auth import on_user_changed
from shared.guard import BodyLimit, json_depth
from shared.http import TYPE_BASE
from tests.support import auth


@pytest.fixture
def gateway(sqlite_build):
    return sqlite_build("gateway", revocation_cache_seconds=0)


@pytest.fixture
def accounts(sqlite_build):
    return sqlite_build("accounts", revocation_cache_seconds=0)


def login(client, email="admin@cadena.local", password="admin", address="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(gateway):
    return bearer(login(gateway.client).get_json()["access_token"])


def make_user(gateway, admin, role="rep", **extra) -> dict:
    email = f"{role}-{uuid.uuid4().hex[:6]}@cadena.local"
    reply = gateway.client.post("/api/v1/users", json={"email": email, "name": role.title(), "role": role,
                                                       "password": "long-enough", **extra}, headers=admin)
    assert reply.status_code == 201, reply.get_json()
    user = reply.get_json()
    user["tokens"] = login(gateway.client, email, "long-enough").get_json()
    user["headers"] = bearer(user["tokens"]["access_token"])
    return user


# -- order of checks -------------------------------------------------------------------

def test_a_rep_creating_a_user_with_a_bad_body_is_forbidden_not_invalid(gateway, admin):
    rep = make_user(gateway, admin)
    reply = gateway.client.post("/api/v1/users", json={"email": "x", "password": "short"}, headers=rep["headers"])
    assert reply.status_code == 403
    assert reply.get_json()["type"] == TYPE_BASE + "forbidden"


def test_check_order_401_403_415_400_422(accounts):
    rep = auth.headers("rep")
    support = auth.headers("support")
    c = accounts.client
    assert c.post("/api/v1/accounts", data="{", content_type="text/plain").status_code == 401
    assert c.post("/api/v1/accounts", data="{", content_type="text/plain", headers=support).status_code == 403
    assert c.post("/api/v1/accounts", data="name=x", content_type="text/plain", headers=rep).status_code == 415
    assert c.post("/api/v1/accounts", data="{", content_type="application/json", headers=rep).status_code == 400
    reply = c.post("/api/v1/accounts", json={"name": ""}, headers=rep)
    assert reply.status_code == 422 and reply.get_json()["type"] == TYPE_BASE + "validation"


def test_a_rep_naming_another_owner_is_forbidden_whatever_the_body_holds(accounts):
    reply = accounts.client.post("/api/v1/contacts", json={"email": "not-an-email", "owner_id": str(uuid.uuid4())},
                                 headers=auth.headers("rep"))
    assert reply.status_code == 403


def test_json_nested_deeper_than_64_is_400_not_a_crash(accounts):
    for depth in (65, 10_000):
        body = "[" * depth + "]" * depth
        reply = accounts.client.post("/api/v1/accounts", data=body, content_type="application/json",
                                     headers=auth.headers("rep"))
        assert reply.status_code == 400, depth
        assert reply.get_json()["type"] == TYPE_BASE + "malformed-json"


def test_json_depth_counts_iteratively():
    assert json_depth({"a": [1, {"b": []}]}, 64) == 4
    assert json_depth("x", 64) == 0
    deep: list = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    assert json_depth(deep, 64) == 65  # stops counting once past the limit


def test_patch_with_an_empty_body_is_a_4xx(accounts):
    account = accounts.client.post("/api/v1/accounts", json={"name": "Bodegas"}, headers=auth.headers("admin"))
    for content_type in ("application/json", None):
        kwargs = {"content_type": content_type} if content_type else {}
        reply = accounts.client.patch(f"/api/v1/accounts/{account.get_json()['id']}", data=b"",
                                      headers=auth.headers("admin"), **kwargs)
        assert reply.status_code in (400, 422)
        assert reply.mimetype == "application/problem+json"


def test_one_type_per_kind_of_validation_failure(accounts):
    admin = auth.headers("admin")
    schema_failure = accounts.client.post("/api/v1/accounts", json={"name": ""}, headers=admin).get_json()
    query_failure = accounts.client.get("/api/v1/accounts?limit=0", headers=admin).get_json()
    assert schema_failure["type"] == query_failure["type"] == TYPE_BASE + "validation"


def test_security_headers_on_every_response(gateway, admin):
    for reply in (gateway.client.get("/healthz"), gateway.client.get("/api/v1/users", headers=admin),
                  gateway.client.get("/api/v1/users")):
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "no-referrer"


# -- body size ---------------------------------------------------------------------------

def _call(middleware, body: bytes, path="/api/v1/accounts", chunked=False):
    stream = io.BytesIO(body)
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "POST", "wsgi.input": stream}
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    out = b"".join(middleware(environ, start_response))
    return seen, out, stream


def test_an_oversized_body_is_drained_and_answered_413():
    inner_called = []
    middleware = BodyLimit(lambda env, sr: inner_called.append(1) or [], limit=1024, drain=1 << 20)
    seen, out, stream = _call(middleware, b"x" * 500_000)
    assert seen["status"].startswith("413") and not inner_called
    assert stream.tell() == 500_000  # read to the end: the client is not reset mid-send
    assert json.loads(out)["type"] == TYPE_BASE + "payload-too-large"
    seen, _, _ = _call(middleware, b"x" * 5000, chunked=True)
    assert seen["status"].startswith("413")


def test_a_body_within_the_limit_passes_and_imports_may_be_larger():
    got = []

    def inner(environ, start_response):
        got.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b""]

    middleware = BodyLimit(inner, limit=1024, larger={"/api/v1/imports": 4096})
    assert _call(middleware, b"y" * 1000, chunked=True)[0]["status"] == "200 OK" and got[-1] == b"y" * 1000
    assert _call(middleware, b"z" * 3000, path="/api/v1/imports")[0]["status"] == "200 OK"


# -- tokens ----------------------------------------------------------------------------------

def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_login(gateway):
    first = login(gateway.client).get_json()
    claims = jwt.decode(first["access_token"], options={"verify_signature": False})
    assert first["expires_in"] <= 900 and claims["exp"] - claims["iat"] <= 900
    second = gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert gateway.client.get("/api/v1/users", headers=bearer(second["access_token"])).status_code == 200
    reuse = gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.get_json()["type"] == TYPE_BASE + "token-revoked"
    # every token of that login is dead now, the newest pair included
    assert gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert gateway.client.get("/api/v1/users", headers=bearer(second["access_token"])).status_code == 401
    # another login is untouched
    assert gateway.client.get("/api/v1/users", headers=bearer(login(gateway.client).get_json()["access_token"])
                              ).status_code == 200


def test_logout_ends_the_login(gateway):
    tokens = login(gateway.client).get_json()
    assert gateway.client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    assert gateway.client.get("/api/v1/users", headers=bearer(tokens["access_token"])).status_code == 401
    assert gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_an_unknown_refresh_token_is_401(gateway):
    assert gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": "rt_nope"}).status_code == 401


def test_demotion_revokes_the_old_token_at_once(gateway, admin):
    other_admin = make_user(gateway, admin, role="admin")
    changed = gateway.client.patch(f"/api/v1/users/{other_admin['id']}", json={"role": "readonly"}, headers=admin)
    assert changed.status_code == 200
    reply = gateway.client.post("/api/v1/users", json={"email": "new-admin@cadena.local", "name": "N", "role": "admin",
                                                       "password": "long-enough"}, headers=other_admin["headers"])
    assert reply.status_code == 401 and reply.get_json()["type"] == TYPE_BASE + "token-revoked"
    fresh = login(gateway.client, other_admin["email"], "long-enough").get_json()
    assert jwt.decode(fresh["access_token"], options={"verify_signature": False})["role"] == "readonly"
    assert gateway.client.get("/api/v1/users", headers=bearer(fresh["access_token"])).status_code == 200


def test_a_name_change_does_not_revoke(gateway, admin):
    rep = make_user(gateway, admin)
    assert gateway.client.patch(f"/api/v1/users/{rep['id']}", json={"name": "Renamed"}, headers=admin).status_code == 200
    assert gateway.client.get("/api/v1/users", headers=rep["headers"]).status_code == 200


def test_deactivation_revokes_tokens_and_refresh(gateway, admin):
    rep = make_user(gateway, admin)
    assert gateway.client.patch(f"/api/v1/users/{rep['id']}", json={"active": False}, headers=admin).status_code == 200
    assert gateway.client.get("/api/v1/users", headers=rep["headers"]).status_code == 401
    refresh = gateway.client.post("/api/v1/auth/refresh", json={"refresh_token": rep["tokens"]["refresh_token"]})
    assert refresh.status_code == 401


# -- throttling ------------------------------------------------------------------------------

def test_five_failures_throttle_that_email_from_that_address_only(gateway, sqlite_build):
    for _ in range(5):
        assert login(gateway.client, password="wrong").status_code == 401
    blocked = login(gateway.client)  # even the right password
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert blocked.mimetype == "application/problem+json"
    assert login(gateway.client, address="10.0.0.2").status_code == 200  # from elsewhere: fine
    # unknown e-mails answer the same
    for _ in range(5):
        login(gateway.client, email="nadie@cadena.local", password="x")
    unknown = login(gateway.client, email="nadie@cadena.local", password="x")
    assert unknown.status_code == 429
    assert set(unknown.get_json()) == set(blocked.get_json())


def test_throttling_is_shared_by_every_gateway_process(gateway):
    from gateway.app import create_app

    second = create_app(gateway.settings).test_client()  # another worker on the same database
    for client in (gateway.client, second, gateway.client, second, gateway.client):
        assert login(client, password="wrong").status_code == 401
    assert login(second).status_code == 429


# -- API clients --------------------------------------------------------------------------------

def test_api_client_lifecycle(gateway, admin):
    created = gateway.client.post("/api/v1/api-clients", json={"name": "ERP", "role": "rep"}, headers=admin)
    assert created.status_code == 201
    client = created.get_json()
    assert client["client_secret"] and client["client_id"]
    listed = gateway.client.get("/api/v1/api-clients", headers=admin).get_json()["items"]
    assert [c for c in listed if c["id"] == client["id"]] and all("client_secret" not in c for c in listed)
    token = gateway.client.post("/api/v1/auth/token", json={"grant_type": "client_credentials",
                                                            "client_id": client["client_id"],
                                                            "client_secret": client["client_secret"]})
    assert token.status_code == 200
    claims = jwt.decode(token.get_json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == client["id"] and claims["role"] == "rep"
    headers = bearer(token.get_json()["access_token"])
    assert gateway.client.get("/api/v1/users", headers=headers).status_code == 200
    wrong = gateway.client.post("/api/v1/auth/token", json={"grant_type": "client_credentials",
                                                            "client_id": client["client_id"], "client_secret": "no"})
    assert wrong.status_code == 401
    assert gateway.client.delete(f"/api/v1/api-clients/{client['id']}", headers=admin).status_code == 204
    assert gateway.client.get("/api/v1/users", headers=headers).status_code == 401


def test_only_admins_manage_api_clients(gateway, admin):
    manager = make_user(gateway, admin, role="manager")
    reply = gateway.client.post("/api/v1/api-clients", json={"role": "nonsense"}, headers=manager["headers"])
    assert reply.status_code == 403
    assert gateway.client.get("/api/v1/api-clients", headers=manager["headers"]).status_code == 403


# -- revocation in a service, from its user replica ---------------------------------------------

def _replica_event(user_id: str, *, role="rep", active=True, generation=0, at="2026-11-27T10:00:00+00:00") -> dict:
    return {"time": at, "data": {"id": user_id, "email": f"{user_id}@x.es", "name": "U", "role": role,
                                 "team": None, "manager_id": None, "active": active, "token_generation": generation}}


def test_a_service_refuses_tokens_older_than_the_replica_generation(accounts):
    user_id = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {auth.token('rep', user_id)}"}  # generation 0
    assert accounts.client.get("/api/v1/accounts", headers=headers).status_code == 200
    with accounts.db.transaction() as uow:
        on_user_changed(_replica_event(user_id, generation=1), uow)
    reply = accounts.client.get("/api/v1/accounts", headers=headers)
    assert reply.status_code == 401 and reply.get_json()["type"] == TYPE_BASE + "token-revoked"


def test_a_service_refuses_a_deactivated_users_token(accounts):
    user_id = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {auth.token('rep', user_id)}"}
    with accounts.db.transaction() as uow:
        on_user_changed(_replica_event(user_id, active=False), uow)
    assert accounts.client.get("/api/v1/accounts", headers=headers).status_code == 401


def test_a_late_event_does_not_undo_a_revocation(accounts):
    user_id = str(uuid.uuid4())
    with accounts.db.transaction() as uow:
        on_user_changed(_replica_event(user_id, generation=2, at="2026-11-27T10:00:05+00:00"), uow)
        on_user_changed(_replica_event(user_id, generation=1, at="2026-11-27T10:00:01+00:00"), uow)
    users = accounts.db.tables.users
    with accounts.db.engine.connect() as conn:
        assert conn.scalar(select(users.c.token_generation).where(users.c.id == user_id)) == 2


def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(sqlite_build):
    gateway = sqlite_build("gateway", proxy_hops=1)

    def attempt(forwarded: str, password: str = "wrong"):
        return gateway.client.post("/api/v1/auth/token", json={"email": "admin@cadena.local", "password": password},
                                   headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": "10.9.9.9"})

    for _ in range(5):
        assert attempt("203.0.113.7").status_code == 401
    assert attempt("203.0.113.7", "admin").status_code == 429
    assert attempt("198.51.100.2", "admin").status_code == 200  # another user behind the same proxy
