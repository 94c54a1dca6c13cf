"""The whole system as separate processes (a web and a worker per
component), each of which a fault test can kill and start again, with the
database and the broker reached through TcpProxies it can cut."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from shared import config
from shared.cli import built_components
from tests.support.wait import until

CLI = str(Path(sys.executable).with_name("cadena"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def via(url: str, port: int) -> str:
    """The same URL, reached on another local port (a proxy's)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@dataclass
class Processes:
    env: dict
    log_dir: Path
    direct_databases: dict[str, str]  # component → URL that bypasses the proxy (for the test's own checks)
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def components(self) -> list[str]:
        return list(self.direct_databases)

    @property
    def url(self) -> str:
        return self.env["CADENA_GATEWAY_URL"]

    def service_url(self, component: str) -> str:
        return self.url if component == "gateway" else self.env[f"CADENA_{component.upper()}_URL"]

    def start(self, name: str) -> None:
        """'accounts.web' or 'accounts.worker'."""
        component, kind = name.split(".")
        argv = [CLI, "serve" if kind == "web" else "worker", component]
        log = open(self.log_dir / f"{name}.log", "a")
        self.running[name] = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, start_new_session=True)

    def kill(self, name: str) -> None:
        """SIGKILL, as the kernel's OOM killer or a lost node would."""
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.running.values():
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.running.clear()

    def wait_ready(self, timeout: float = 90) -> None:
        def ready(url: str) -> bool:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return False

        for component in self.components:
            until(lambda: ready(self.service_url(component)), timeout=timeout, interval=0.3)


def make_processes(servers, amqp_url: str, tmp_path: Path, *, pg_port: int, amqp_port: int) -> Processes:
    """Databases made directly, migrated, then every process pointed at the proxies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENA_")}
    gateway_port = free_port()
    env.update({"CADENA_ENV": "dev", "CADENA_VAR_DIR": str(tmp_path), "CADENA_AMQP_URL": via(amqp_url, amqp_port),
                "CADENA_GATEWAY_PORT": str(gateway_port), "CADENA_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
                "CADENA_SMTP_URL": "smtp://127.0.0.1:1", "CADENA_LOG_LEVEL": "INFO"})
    for name in config.SERVICE_PORTS:
        env[f"CADENA_{name.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    direct = {}
    migrate_env = dict(env)
    for name in built_components(""):
        url = servers.new_database(f"cadena_chaos_{name}")
        direct[name] = url
        migrate_env[f"CADENA_{name.upper()}_DATABASE_URL"] = url
        env[f"CADENA_{name.upper()}_DATABASE_URL"] = via(url, pg_port)
    subprocess.run([CLI, "migrate"], env=migrate_env, check=True, capture_output=True, timeout=300)
    (tmp_path / "logs").mkdir(exist_ok=True)
    return Processes(env, tmp_path / "logs", direct)
