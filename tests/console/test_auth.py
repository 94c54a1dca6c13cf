"""Signing in and out, sessions, token refresh and the security headers."""
from __future__ import annotations

import threading

from console.api import Api
from console.auth import RefreshCoordinator
from tests.console.conftest import build
from tests.console.fake_api import jwt_for


def test_pages_send_visitors_to_login_first(client):
    reply = client.get("/accounts?q=rioja")
    assert reply.status_code == 302
    assert "/login?next=" in reply.headers["Location"]


def test_login_form_has_named_fields_and_a_csrf_token(fake):
    client = build(fake, csrf=True).test_client()
    html = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html and 'name="csrf_token"' in html


def test_a_post_without_csrf_token_is_refused(fake):
    client = build(fake, csrf=True).test_client()
    reply = client.post("/login", data={"email": "a@b.c", "password": "x"})
    assert reply.status_code == 400
    assert not fake.called("POST", "/api/v1/auth/token")


def test_wrong_password_says_so_and_keeps_the_email(client, fake):
    fake.on("POST", "/api/v1/auth/token", 401, {"status": 401, "title": "Unauthorized"})
    reply = client.post("/login", data={"email": "javier.morales@cadena.local", "password": "nope"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 401
    assert "javier.morales@cadena.local" in html and "contraseña no son correctos" in html


def test_login_then_logout_revokes_the_login(signed_in, fake):
    assert signed_in.get("/").status_code == 200
    reply = signed_in.post("/logout")
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]
    assert fake.called("POST", "/api/v1/auth/logout")
    assert signed_in.get("/").status_code == 302


def test_login_never_redirects_outside_the_console(client):
    reply = client.post("/login?next=//evil.example/x", data={"email": "a@b.c", "password": "p"})
    assert reply.headers["Location"] == "/"


def test_the_session_cookie_holds_no_readable_token(client):
    client.post("/login", data={"email": "javier.morales@cadena.local", "password": "cadena-demo"})
    cookie = client.get_cookie("cadena_console")
    assert cookie is not None
    import base64
    import zlib

    raw = cookie.value.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    text = (zlib.decompress(data) if cookie.value.startswith(".") else data).decode()
    assert "eyJhbGciOiJub25lIn0" not in text and "r-1" not in text


def test_cookie_is_httponly_lax_and_secure_outside_dev(fake):
    client = build(fake, env="production").test_client()
    reply = client.post("/login", data={"email": "javier.morales@cadena.local", "password": "cadena-demo"})
    header = reply.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header


def test_html_carries_a_strict_csp(client):
    reply = client.get("/login")
    csp = reply.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_a_401_renews_the_token_once_and_retries(signed_in, fake):
    answers = iter([(401, {"status": 401, "type": "x/token-expired"}), (200, {"items": [], "next_cursor": None})])
    fake.routes[("GET", "/api/v1/contacts")] = lambda q, b: next(answers)
    fake.on("POST", "/api/v1/auth/refresh", 200, {"access_token": jwt_for(), "expires_in": 900,
                                                  "refresh_token": "r-2"})
    assert signed_in.get("/contacts").status_code == 200
    assert [c["body"] for c in fake.called("POST", "/api/v1/auth/refresh")] == [{"refresh_token": "r-1"}]


def test_a_revoked_user_is_signed_out_on_the_next_click(signed_in, fake):
    fake.on("GET", "/api/v1/contacts", 401, {"status": 401, "type": "https://cadena.dev/problems/token-revoked"})
    fake.on("POST", "/api/v1/auth/refresh", 401, {"status": 401})
    reply = signed_in.get("/contacts")
    assert reply.status_code == 302 and "/login?reason=ended" in reply.headers["Location"]
    assert signed_in.get("/").status_code == 302  # the session is gone


def test_htmx_requests_are_redirected_with_a_header(signed_in, fake):
    fake.on("GET", "/api/v1/contacts", 401, {"status": 401})
    fake.on("POST", "/api/v1/auth/refresh", 401, {"status": 401})
    reply = signed_in.get("/contacts", headers={"HX-Request": "true"})
    assert "/login" in reply.headers["HX-Redirect"]


def test_without_a_refresh_token_a_401_means_login_again(client, fake):
    fake.on("POST", "/api/v1/auth/token", 200, {"access_token": jwt_for(), "expires_in": 900})
    client.post("/login", data={"email": "a@b.c", "password": "p"})
    fake.on("GET", "/api/v1/contacts", 401, {"status": 401})
    assert "/login" in client.get("/contacts").headers["Location"]
    assert not fake.called("POST", "/api/v1/auth/refresh")


def test_a_token_near_expiry_is_renewed_before_the_call(client, fake):
    fake.on("POST", "/api/v1/auth/token", 200, {"access_token": jwt_for(), "expires_in": 10, "refresh_token": "r-1"})
    fake.on("POST", "/api/v1/auth/refresh", 200, {"access_token": jwt_for(), "expires_in": 900,
                                                  "refresh_token": "r-2"})
    client.post("/login", data={"email": "a@b.c", "password": "p"})
    assert client.get("/contacts").status_code == 200
    assert len(fake.called("POST", "/api/v1/auth/refresh")) == 1


def test_concurrent_refreshes_spend_the_refresh_token_once(fake):
    fake.on("POST", "/api/v1/auth/refresh", 200, {"access_token": "new", "refresh_token": "r-2"})
    coordinator, api = RefreshCoordinator(), Api(fake)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(coordinator.refresh(api, "r-1"))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.called("POST", "/api/v1/auth/refresh")) == 1
    assert all(a["refresh_token"] == "r-2" for a in answers)
