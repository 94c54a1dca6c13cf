"""Fixtures for every level: unit (SQLite in a temp folder, no broker),
integration (the real Postgres and RabbitMQ), e2e (see tests/e2e/conftest.py)."""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared import config
from shared.migrations import upgrade
from tests.support import auth
from tests.support.servers import Servers, start


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        for level in ("integration", "e2e", "faults"):
            if level in parts:
                item.add_marker(getattr(pytest.mark, level))


def pytest_sessionfinish(session, exitstatus):
    """Stop the key-refresh threads that apps built by tests left running,
    before pytest closes the streams they log to."""
    from shared.keys import stop_all

    stop_all()


@pytest.fixture(scope="session")
def servers() -> Servers:
    running = start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def amqp_url(servers) -> str:
    return servers.amqp_url


@pytest.fixture
def pg_url(servers):
    url = servers.new_database()
    yield url
    servers.drop_database(url)


def component_module(component: str):
    return importlib.import_module("gateway.app" if component == "gateway" else f"services.{component}.app")


@dataclass
class Built:
    """A component built in-process on a fresh database."""

    component: str
    settings: config.Settings
    app: object
    db: object
    _workers: list = field(default_factory=list)

    @property
    def client(self):
        return self.app.test_client()

    def worker(self):
        worker = component_module(self.component).create_worker(self.settings)
        self._workers.append(worker)
        return worker


@pytest.fixture
def build(servers, tmp_path):
    """build(component, backend="postgres"|"sqlite", **settings) → Built (app + db, worker on demand)."""
    made: list[tuple[Built, str | None]] = []

    def make(component: str, backend: str = "postgres", *, file: str | None = None, **overrides) -> Built:
        if backend == "postgres":
            url = servers.new_database()
        else:
            url, _ = f"sqlite:///{tmp_path / ((file or component) + '.db')}", None
        upgrade(component, url)
        overrides.setdefault("amqp_url", servers.amqp_url)
        settings = config.load(component, database_url=url, **overrides)
        module = component_module(component)
        kwargs = {} if component == "gateway" else {"verifier": auth.verifier()}
        app = module.create_app(settings, **kwargs)
        built = Built(component, settings, app, app.extensions["cadena"].db)
        made.append((built, url if backend == "postgres" else None))
        return built

    yield make
    for built, url in made:
        for worker in built._workers:
            worker.stop.set()
        built.db.dispose()
        for worker in built._workers:
            worker.db.dispose()
        if url:
            servers.drop_database(url)


@pytest.fixture
def sqlite_build(tmp_path, monkeypatch):
    """Unit level: a component on SQLite in a temp folder; no broker is touched."""
    monkeypatch.setenv("CADENA_VAR_DIR", str(tmp_path))
    made = []

    def make(component: str, **overrides) -> Built:
        url = f"sqlite:///{tmp_path / (component + '.db')}"
        upgrade(component, url)
        settings = config.load(component, database_url=url, amqp_url="amqp://guest:guest@127.0.0.1:1/%2F", **overrides)
        module = component_module(component)
        kwargs = {} if component == "gateway" else {"verifier": auth.verifier()}
        app = module.create_app(settings, **kwargs)
        built = Built(component, settings, app, app.extensions["cadena"].db)
        made.append(built)
        return built

    yield make
    for built in made:
        built.db.dispose()


os.environ.setdefault("CADENA_ENV", "dev")
