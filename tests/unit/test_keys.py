"""A service's copy of the gateway's signing keys (shared/keys.py), against a
real local HTTP server: fetched at start with retries, used from memory."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.http import Problem, Unauthorized
from shared.keys import RemoteKeys
from tests.support.wait import until


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key, kid):
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid=kid, use="sig", alg="RS256")
    return jwk


class Gateway:
    """A JWKS endpoint that can be slow, down or serve new keys."""

    def __init__(self):
        self.keys: list[dict] = []
        self.up = False
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.hits += 1
                if not owner.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v1/auth/jwks.json"


@pytest.fixture
def gateway():
    running = Gateway()
    yield running
    running.server.shutdown()


def _token(key, kid):
    return jwt.encode({"sub": "u"}, key, algorithm="RS256", headers={"kid": kid})


def test_keys_are_fetched_at_start_retrying_until_the_gateway_answers(gateway):
    key = _key()
    gateway.keys = [_jwk(key, "k1")]
    keys = RemoteKeys(gateway.url, refresh_every=60).start()
    try:
        until(lambda: gateway.hits >= 2, timeout=5)  # retried while the gateway is down
        assert not keys.ready
        with pytest.raises(Problem) as refused:
            keys.key_for(_token(key, "k1"))
        assert refused.value.status == 503
        gateway.up = True
        until(lambda: keys.ready, timeout=10)
        assert keys.key_for(_token(key, "k1")) is not None
    finally:
        keys.stop()


def test_a_known_key_never_waits_on_the_gateway(gateway):
    key = _key()
    gateway.keys, gateway.up = [_jwk(key, "k1")], True
    keys = RemoteKeys(gateway.url, refresh_every=60)
    assert keys.fetch()
    gateway.up = False
    hits = gateway.hits
    started = time.monotonic()
    for _ in range(100):
        keys.key_for(_token(key, "k1"))
    assert gateway.hits == hits and time.monotonic() - started < 1


def test_a_new_key_id_is_fetched_once_and_an_unknown_one_is_401(gateway):
    old, new = _key(), _key()
    gateway.keys, gateway.up = [_jwk(old, "k1")], True
    keys = RemoteKeys(gateway.url, refresh_every=60, min_fetch_gap=0)
    assert keys.fetch()
    gateway.keys = [_jwk(old, "k1"), _jwk(new, "k2")]
    assert keys.key_for(_token(new, "k2")) is not None
    with pytest.raises(Unauthorized):
        keys.key_for(_token(_key(), "k3"))


def test_a_service_is_not_ready_until_it_holds_the_keys(gateway, tmp_path, monkeypatch):
    from services.accounts.app import create_app
    from shared import config
    from shared.auth import TokenVerifier
    from shared.migrations import upgrade

    monkeypatch.setenv("CADENA_VAR_DIR", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    upgrade("accounts", url)
    verifier = TokenVerifier(gateway.url)
    app = create_app(config.load("accounts", database_url=url, amqp_url="amqp://guest:guest@127.0.0.1:1/%2F"),
                     verifier=verifier)
    try:
        down = app.test_client().get("/readyz").get_json()["unavailable"]
        assert any(d.startswith("signing keys") for d in down)
        gateway.keys, gateway.up = [_jwk(_key(), "k1")], True
        until(lambda: verifier.remote_keys.ready, timeout=10)
        down = app.test_client().get("/readyz").get_json()["unavailable"]
        assert not any(d.startswith("signing keys") for d in down)
    finally:
        verifier.remote_keys.stop()
        app.extensions["cadena"].db.dispose()


def test_at_exit_every_refresh_thread_is_stopped_and_its_fetch_allowed_to_end(monkeypatch):
    import weakref

    from shared import keys as module

    monkeypatch.setattr(module, "_RUNNING", weakref.WeakSet())  # this test's thread only
    keys = RemoteKeys("http://127.0.0.1:1/api/v1/auth/jwks.json", refresh_every=60, timeout=0.5).start()
    until(lambda: keys._last_attempt > 0, timeout=5)  # fetching (and failing: nothing listens there)
    assert set(module._RUNNING) == {keys}
    module.stop_all()
    assert not keys._thread.is_alive()


def test_a_refresh_thread_survives_a_log_line_it_cannot_write(monkeypatch):
    import weakref

    from shared import keys as module

    monkeypatch.setattr(module, "_RUNNING", weakref.WeakSet())
    attempts = []

    def closed_stream(*_args, **_kwargs):
        attempts.append(1)
        raise ValueError("I/O operation on closed file.")

    monkeypatch.setattr(module, "log", type("ClosedLog", (), {"info": staticmethod(closed_stream)})())
    keys = RemoteKeys("http://127.0.0.1:1/api/v1/auth/jwks.json", refresh_every=60, timeout=0.5).start()
    until(lambda: len(attempts) >= 2, timeout=5)  # it failed to log, waited, and tried again
    assert keys._thread.is_alive()
    module.stop_all()
