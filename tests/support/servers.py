"""The real Postgres and RabbitMQ for integration and e2e tests.

With a Docker engine, testcontainers starts both; without one, the local
servers at their default ports are used (CADENA_TEST_PG_URL and
CADENA_TEST_AMQP_URL override). Each test session gets its own RabbitMQ
virtual host and each test its own databases, so runs never see each other.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from urllib.parse import quote

LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def docker_available() -> bool:
    if os.environ.get("CADENA_TEST_NO_DOCKER"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


def missing() -> str | None:
    """What `cadena test` must say before running, or None."""
    if os.environ.get("CADENA_TEST_PG_URL") and os.environ.get("CADENA_TEST_AMQP_URL"):
        return None
    if docker_available():
        return None
    if not _reachable("127.0.0.1", 5432):
        return ("PostgreSQL is not reachable at 127.0.0.1:5432 and no Docker engine answers; start it "
                "(e.g. `pg_ctlcluster 15 main start`) or set CADENA_TEST_PG_URL.")
    if not _reachable("127.0.0.1", 5672):
        return ("RabbitMQ is not reachable at 127.0.0.1:5672 and no Docker engine answers; start it "
                "(`rabbitmq-server -detached`) or set CADENA_TEST_AMQP_URL.")
    return None


@dataclass
class Servers:
    pg_admin_url: str
    amqp_url: str
    _containers: tuple = ()
    _vhost: str | None = None

    def new_database(self, prefix: str = "cadena_test") -> str:
        from sqlalchemy import create_engine, text

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.pg_admin_url.rsplit("/", 1)[0] + "/" + name

    def drop_database(self, url: str) -> None:
        from sqlalchemy import create_engine, text

        name = url.rsplit("/", 1)[1]
        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    def stop(self) -> None:
        if self._vhost and shutil.which("rabbitmqctl"):
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self._vhost], capture_output=True, timeout=60)
        for container in self._containers:
            container.stop()


def _session_vhost(base_url: str) -> tuple[str, str | None]:
    """A private virtual host for this run when rabbitmqctl can make one."""
    if not shutil.which("rabbitmqctl"):
        return base_url, None
    vhost = f"cadena-test-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
        subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                       check=True, capture_output=True, timeout=60)
    except (subprocess.SubprocessError, OSError):
        return base_url, None
    return base_url.rsplit("/", 1)[0] + "/" + quote(vhost, safe=""), vhost


def start() -> Servers:
    pg = os.environ.get("CADENA_TEST_PG_URL")
    amqp = os.environ.get("CADENA_TEST_AMQP_URL")
    if pg and amqp:
        return Servers(pg, amqp)
    if docker_available():
        from testcontainers.postgres import PostgresContainer
        from testcontainers.rabbitmq import RabbitMqContainer

        postgres = PostgresContainer("postgres:16", driver="psycopg").start()
        rabbit = RabbitMqContainer("rabbitmq:3.13").start()
        params = rabbit.get_connection_params()
        amqp_url = f"amqp://guest:guest@{params.host}:{params.port}/%2F"
        return Servers(postgres.get_connection_url(), amqp_url, (postgres, rabbit))
    amqp_url, vhost = _session_vhost(amqp or LOCAL_AMQP)
    return Servers(pg or LOCAL_PG, amqp_url, _vhost=vhost)
