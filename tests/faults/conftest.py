"""Fault injection on the real Postgres and RabbitMQ (tests/faults/README.md).

Faults are made without touching the shared servers: a TcpProxy in front of
the broker or the database is cut and restored, worker processes are killed
with SIGKILL, and duplicate or garbage messages are published to the real
queues. Every test here runs in a RabbitMQ virtual host of its own, so no
other component (e.g. the e2e system started in the same session) competes
for the queues these tests feed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import servers as test_servers

HERE = Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a longer fault test; `./cadena test tests/faults` runs them")


def _slow_wanted(config) -> bool:
    """Slow fault tests run when asked for: a -m expression, a path under
    tests/faults, or CADENA_SLOW_TESTS=1. A plain `cadena test` (CI) runs the
    smoke subset only."""
    if os.environ.get("CADENA_SLOW_TESTS") == "1" or config.option.markexpr:
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config, items):
    if _slow_wanted(config):
        return
    skip = pytest.mark.skip(reason="slow fault test: run `./cadena test tests/faults` for the full suite")
    for item in items:
        if "slow" in item.keywords and HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fault_amqp_url(servers) -> str:
    """A RabbitMQ virtual host for the fault tests alone (the session's one
    when rabbitmqctl is not available, e.g. with testcontainers)."""
    url, vhost = test_servers._session_vhost(servers.amqp_url)
    yield url
    if vhost and shutil.which("rabbitmqctl"):
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


@pytest.fixture
def own_amqp_url(servers) -> str:
    """A virtual host for one test: no queue an earlier test declared (and
    the events left in it) reaches its workers."""
    url, vhost = test_servers._session_vhost(servers.amqp_url)
    yield url
    if vhost and shutil.which("rabbitmqctl"):
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


@pytest.fixture
def fault_build(build, fault_amqp_url):
    """build(component) on Postgres, on the fault vhost, with no gateway or
    sibling service to ask (every lookup fails fast instead of hanging)."""
    from tests.faults.helpers import isolate

    def make(component: str, **overrides):
        overrides.setdefault("amqp_url", fault_amqp_url)
        overrides.setdefault("gateway_url", "http://127.0.0.1:1")
        return isolate(build(component, **overrides))

    return make
