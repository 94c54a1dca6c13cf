"""Console tests: the Flask test client against a faked API (no I/O)."""
from __future__ import annotations

import pytest

from console.api import Api
from console.app import create_app
from console.settings import ConsoleSettings
from tests.console.fake_api import FakeApi


@pytest.fixture
def fake() -> FakeApi:
    return FakeApi()


def build(fake: FakeApi, env: str = "dev", csrf: bool = False):
    app = create_app(ConsoleSettings(secret="test-secret", api_url="http://api.invalid", env=env),
                     api=Api(fake))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=csrf, SESSION_COOKIE_PATH="/")
    return app


@pytest.fixture
def app(fake):
    return build(fake)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def signed_in(client):
    reply = client.post("/login", data={"email": "javier.morales@cadena.local", "password": "cadena-demo"})
    assert reply.status_code == 302
    return client


@pytest.fixture
def sign_in(client, fake):
    """sign_in("manager") → the test client, signed in with that role."""
    def as_role(role: str, **claims):
        fake.sign_in_as(role, **claims)
        reply = client.post("/login", data={"email": f"{role}@cadena.local", "password": "x"})
        assert reply.status_code == 302
        return client
    return as_role
