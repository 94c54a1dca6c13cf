"""CONTRACTS §7 through the gateway of the running system, and revocation
observed at the services themselves (from their user replicas)."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.wait import until

PROBLEM = "application/problem+json"
REVOKED = "https://cadena.dev/problems/token-revoked"


def _direct(url: str, path: str, token: str) -> int:
    """Status of a GET sent to a service itself, past the gateway."""
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


SERVICES = {"accounts": "/api/v1/accounts?limit=1", "opportunities": "/api/v1/opportunities?limit=1",
            "support": "/api/v1/cases?limit=1", "activities": "/api/v1/activities?limit=1"}


def _revoked_everywhere(system, token: str) -> dict[str, float]:
    """Seconds until each service (and the gateway) refuses the token."""
    started = time.monotonic()
    seen: dict[str, float] = {}
    urls = {name: system.env.get(f"CADENA_{name.upper()}_URL") for name in SERVICES}
    deadline = started + 5.0
    while time.monotonic() < deadline and len(seen) < len(SERVICES) + 1:
        if "gateway" not in seen and system.get("/api/v1/accounts?limit=1", token=token).status == 401:
            seen["gateway"] = time.monotonic() - started
        for name, path in SERVICES.items():
            if name not in seen and urls[name] and _direct(urls[name], path, token) == 401:
                seen[name] = time.monotonic() - started
        time.sleep(0.05)
    return seen


def test_a_deactivated_rep_loses_power_everywhere_within_5_seconds(system):
    rep = system.make_user("rep", team="Iberia")
    created = system.post("/api/v1/accounts", {"name": f"Cuenta {uuid.uuid4().hex[:6]}"}, token=rep["token"])
    assert created.status == 201
    # every service has the rep in its replica before the change (so the check is the replica's)
    for name, path in SERVICES.items():
        until(lambda: _direct(system.env[f"CADENA_{name.upper()}_URL"], path, rep["token"]) == 200, timeout=10)
    assert system.patch(f"/api/v1/users/{rep['id']}", {"active": False}).status == 200
    seen = _revoked_everywhere(system, rep["token"])
    print(f"\nrevocation delay after deactivation (s): {json.dumps({k: round(v, 3) for k, v in seen.items()})}")
    assert set(seen) == {"gateway", *SERVICES}, f"still accepted after 5 s by: {set(SERVICES) - set(seen)}"
    reply = system.post("/api/v1/accounts", {"name": "Otra"}, token=rep["token"])
    assert reply.status == 401 and reply.json()["type"] == REVOKED
    assert system.request("POST", "/api/v1/auth/token", {"email": rep["email"], "password": "s3cret-pass"},
                          token=None).status == 401


def test_the_demotion_probe_an_old_admin_token_cannot_make_an_admin(system):
    boss = system.make_user("admin")
    assert system.patch(f"/api/v1/users/{boss['id']}", {"role": "readonly"}).status == 200
    deadline = time.monotonic() + 5
    while True:
        reply = system.post("/api/v1/users", {"email": f"x-{uuid.uuid4().hex[:6]}@example.com", "name": "X",
                                              "role": "admin", "password": "long-enough"}, token=boss["token"])
        if reply.status == 401 or time.monotonic() > deadline:
            break
    assert reply.status == 401 and reply.json()["type"] == REVOKED
    opportunities = system.env["CADENA_OPPORTUNITIES_URL"]
    until(lambda: _direct(opportunities, SERVICES["opportunities"], boss["token"]) == 401, timeout=5)


def test_a_team_change_revokes_at_the_services(system):
    rep = system.make_user("rep", team="Iberia")
    support = system.env["CADENA_SUPPORT_URL"]
    until(lambda: _direct(support, SERVICES["support"], rep["token"]) == 200, timeout=10)
    assert system.patch(f"/api/v1/users/{rep['id']}", {"team": "LatAm"}).status == 200
    until(lambda: _direct(support, SERVICES["support"], rep["token"]) == 401, timeout=5)


def test_refresh_rotation_and_reuse_through_the_gateway(system):
    first = system.request("POST", "/api/v1/auth/token", {"email": "admin@cadena.local", "password": "admin"},
                           token=None).json()
    assert first["expires_in"] <= 900 and first["refresh_token"]
    second = system.request("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, token=None)
    assert second.status == 200
    new = second.json()
    assert system.get("/api/v1/accounts?limit=1", token=new["access_token"]).status == 200
    reuse = system.request("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, token=None)
    assert reuse.status == 401 and reuse.json()["type"] == REVOKED
    for token in (new["access_token"], first["access_token"]):  # every token of that login, within seconds
        until(lambda: system.get("/api/v1/accounts?limit=1", token=token).status == 401, timeout=5)


def test_logout_ends_the_login(system):
    tokens = system.request("POST", "/api/v1/auth/token", {"email": "admin@cadena.local", "password": "admin"},
                            token=None).json()
    assert system.post("/api/v1/auth/logout", token=tokens["access_token"]).status == 204
    until(lambda: system.get("/api/v1/accounts?limit=1", token=tokens["access_token"]).status == 401, timeout=5)
    assert system.request("POST", "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]},
                          token=None).status == 401


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def second_gateway(system):
    """Another gateway web process of the same system (same database)."""
    port = _free_port()
    cli = str(Path(sys.executable).with_name("cadena"))
    process = subprocess.Popen([cli, "serve", "gateway", "--bind", f"127.0.0.1:{port}"], env=system.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def ready():
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    until(ready, timeout=30)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=15)


def _login(url: str, email: str, password: str) -> tuple[int, dict, dict]:
    req = urllib.request.Request(url + "/api/v1/auth/token", method="POST",
                                 data=json.dumps({"email": email, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_login_throttling_holds_across_gateway_processes(system, second_gateway):
    user = system.make_user("rep")
    urls = [system.url, second_gateway]
    for attempt in range(5):
        assert _login(urls[attempt % 2], user["email"], "wrong-password")[0] == 401
    for url in urls:
        status, headers, body = _login(url, user["email"], "s3cret-pass")  # the right password, still refused
        assert status == 429 and int(headers["Retry-After"]) > 0 and body["status"] == 429
    ghost = f"nadie-{uuid.uuid4().hex[:6]}@example.com"
    for attempt in range(5):
        _login(urls[attempt % 2], ghost, "x")
    status, _, body_ghost = _login(system.url, ghost, "x")
    assert status == 429 and set(body_ghost) == set(body)


def test_api_client_lifecycle_through_the_gateway(system):
    created = system.post("/api/v1/api-clients", {"name": "ERP sync", "role": "rep"})
    assert created.status == 201
    client = created.json()
    token = system.request("POST", "/api/v1/auth/token", {"grant_type": "client_credentials",
                                                          "client_id": client["client_id"],
                                                          "client_secret": client["client_secret"]}, token=None)
    assert token.status == 200
    access = token.json()["access_token"]
    account = system.post("/api/v1/accounts", {"name": f"ERP {uuid.uuid4().hex[:6]}"}, token=access)
    assert account.status == 201 and account.json()["owner_id"] == client["id"]
    assert all("client_secret" not in c for c in system.get("/api/v1/api-clients").json()["items"])
    assert system.delete(f"/api/v1/api-clients/{client['id']}").status == 204
    until(lambda: system.get("/api/v1/accounts?limit=1", token=access).status == 401, timeout=5)


def test_a_50_mb_body_gets_a_413_problem_not_a_reset(system):
    target = urlparse(system.url)
    size = 50 * 1024 * 1024
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    conn.putrequest("POST", "/api/v1/accounts")
    conn.putheader("Authorization", f"Bearer {system.token()}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    chunk = b" " * (1024 * 1024)
    for _ in range(50):
        conn.send(chunk)  # a reset connection would raise here
    reply = conn.getresponse()
    body = json.loads(reply.read())
    conn.close()
    assert reply.status == 413 and reply.getheader("Content-Type").startswith(PROBLEM)
    assert body["status"] == 413


def test_order_of_checks_through_the_gateway(system):
    rep = system.make_user("rep")
    assert system.request("POST", "/api/v1/users", raw=b"x", headers={"Content-Type": "text/plain"},
                          token=None).status == 401
    assert system.post("/api/v1/users", {"email": "bad", "password": "short"}, token=rep["token"]).status == 403
    assert system.request("POST", "/api/v1/accounts", raw=b"name=x", headers={"Content-Type": "text/plain"},
                          token=rep["token"]).status == 415
    deep = b"[" * 10000 + b"]" * 10000
    assert system.request("POST", "/api/v1/accounts", raw=deep, headers={"Content-Type": "application/json"},
                          token=rep["token"]).status == 400
    assert system.post("/api/v1/accounts", {"name": ""}, token=rep["token"]).status == 422
    activity = system.post("/api/v1/activities", {"type": "call", "subject": "Llamar", "starts_at": "2026-12-01T10:00:00Z"},
                           token=rep["token"]).json()
    for path in (f"/api/v1/activities/{activity['id']}", f"/api/v1/users/{rep['id']}"):
        reply = system.request("PATCH", path, raw=b"", token=rep["token"])
        assert reply.status in (400, 422), (path, reply.status)


def test_security_headers_on_gateway_responses(system):
    for reply in (system.get("/api/v1/accounts?limit=1"), system.get("/api/v1/nope"),
                  system.get("/healthz", token=None)):
        assert reply.headers.get("X-Content-Type-Options") == "nosniff"
        assert reply.headers.get("Referrer-Policy") == "no-referrer"


def test_a_handover_revokes_the_leavers_tokens(system):
    leaver = system.make_user("rep", team="Iberia")
    successor = system.make_user("rep", team="Iberia")
    accounts = system.env["CADENA_ACCOUNTS_URL"]
    until(lambda: _direct(accounts, SERVICES["accounts"], leaver["token"]) == 200, timeout=10)
    assert system.post(f"/api/v1/users/{leaver['id']}/handover", {"to_user_id": successor["id"]}).status == 202
    until(lambda: system.get("/api/v1/accounts?limit=1", token=leaver["token"]).status == 401, timeout=5)
    until(lambda: _direct(accounts, SERVICES["accounts"], leaver["token"]) == 401, timeout=5)
