"""The whole system, started as `cadena up` starts it, on the real Postgres
(one database per component) and RabbitMQ, on ports of its own."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared import config
from shared.cli import built_components

BASE_PORT = int(os.environ.get("CADENA_E2E_BASE_PORT", "18000"))


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class System:
    url: str
    amqp_url: str
    env: dict
    process: subprocess.Popen
    log_path: Path
    _tokens: dict = field(default_factory=dict)
    _passwords: dict = field(default_factory=dict)

    def request(self, method: str, path: str, body=None, *, token: str | None = "admin", headers: dict | None = None,
                raw: bytes | None = None, timeout: float = 15) -> Reply:
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if token:
            hdrs.setdefault("Authorization", f"Bearer {self.token(token) if len(token) < 40 else token}")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Reply(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, dict(exc.headers), exc.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, email: str, password: str) -> str:
        reply = self.request("POST", "/api/v1/auth/token", {"email": email, "password": password}, token=None)
        assert reply.status == 200, reply.body
        return reply.json()["access_token"]

    def token(self, who: str = "admin") -> str:
        """'admin', or the e-mail of a user made with make_user(). Access
        tokens live 15 minutes, so one older than 10 is replaced."""
        token, obtained = self._tokens.get(who, (None, 0.0))
        if token is None or time.monotonic() - obtained > 600:
            if who == "admin":
                token = self.login("admin@cadena.local", "admin")
            elif who in self._passwords:
                token = self.login(who, self._passwords[who])
            else:
                raise KeyError(f"no user {who}; create it with make_user()")
            self._tokens[who] = (token, time.monotonic())
        return token

    def make_user(self, role: str, team: str | None = None, manager_id: str | None = None) -> dict:
        """Create a user through the API; its token is then self.token(user['email'])."""
        import uuid

        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        reply = self.post("/api/v1/users", {"email": email, "name": f"Test {role.title()}", "role": role,
                                            "team": team, "manager_id": manager_id, "password": "s3cret-pass"})
        assert reply.status == 201, reply.body
        user = reply.json()
        self._passwords[email] = "s3cret-pass"
        user["token"] = self.token(email)
        return user

    def pids(self, name: str) -> list[int]:
        """The processes of one of this system's components, e.g. 'support.worker' or 'support.web'."""
        component, kind = name.split(".")
        wanted = f"shared.cli {'serve' if kind == 'web' else 'worker'} {component}"
        out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
        rows = [line.split(None, 2) for line in out.splitlines() if len(line.split(None, 2)) == 3]
        # Every component leads its own process group, so walk the tree down from `cadena up`.
        ours, grew = {self.process.pid}, True
        while grew:
            more = {int(pid) for pid, ppid, _ in rows if int(ppid) in ours} - ours
            ours |= more
            grew = bool(more)
        return [int(pid) for pid, _, args in rows if int(pid) in ours and args.rstrip().endswith(wanted)]

    def pause(self, name: str) -> None:
        """Freeze a component's processes (a hung service: it accepts, never answers)."""
        pids = self.pids(name)
        assert pids, f"no running process of {name} in this system"
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        for pid in self.pids(name):
            os.kill(pid, signal.SIGCONT)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except Exception:
            pass
        time.sleep(0.3)
    return False


def _port_free(port: int) -> None:
    """Fail at once when something already listens where the system will: a
    system left running by an interrupted run would answer the tests instead."""
    import socket

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            pytest.fail(f"port {port} is taken (a system left running by an interrupted run?); stop it or set "
                        "CADENA_E2E_BASE_PORT")


@pytest.fixture(scope="package")
def system(servers, tmp_path_factory) -> System:
    """Torn down when the e2e package is done, so its processes and their
    database connections don't outlive it."""
    _port_free(BASE_PORT)
    var = tmp_path_factory.mktemp("cadena-var")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENA_")}
    if os.environ.get("CADENA_E2E_COMPONENTS"):
        env["CADENA_COMPONENTS"] = os.environ["CADENA_E2E_COMPONENTS"]
    env.update({"CADENA_ENV": "dev", "CADENA_VAR_DIR": str(var), "CADENA_AMQP_URL": servers.amqp_url,
                "CADENA_GATEWAY_PORT": str(BASE_PORT), "CADENA_GATEWAY_URL": f"http://127.0.0.1:{BASE_PORT}",
                "CADENA_SMTP_SINK_PORT": str(BASE_PORT + 25), "CADENA_LOG_LEVEL": "INFO"})
    # Webhooks reach the tests' receivers on this machine, and nothing else; their
    # retry window shrinks to seconds so giving up can be watched.
    env.update({"CADENA_WEBHOOK_ALLOW_PRIVATE": "1", "CADENA_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
                "CADENA_WEBHOOK_RETRY_BASE_SECONDS": "0.3", "CADENA_WEBHOOK_RETRY_MAX_SECONDS": "1.5",
                "CADENA_WEBHOOK_RETRY_WINDOW_SECONDS": "6", "CADENA_WEBHOOK_TIMEOUT": "3"})
    components = built_components(env.get("CADENA_COMPONENTS", ""))
    databases = []
    for name in components:
        url = servers.new_database(f"cadena_e2e_{name}")
        databases.append(url)
        env[f"CADENA_{name.upper()}_DATABASE_URL"] = url
    for name, port in config.SERVICE_PORTS.items():
        env[f"CADENA_{name.upper()}_URL"] = f"http://127.0.0.1:{BASE_PORT + port - config.GATEWAY_PORT}"
    cli = str(Path(sys.executable).with_name("cadena"))
    process = subprocess.Popen([cli, "up", "--no-seed"], env=env, cwd=config.ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    sys_ = System(f"http://127.0.0.1:{BASE_PORT}", servers.amqp_url, env, process, var / "log" / "cadena.log")
    try:
        urls = [sys_.url] + [env[f"CADENA_{n.upper()}_URL"] for n in components if n != "gateway"]
        if not all(_wait(u + "/readyz", 90) for u in urls):
            out = process.stdout.read1(20000).decode(errors="replace") if process.poll() is not None else ""
            pytest.fail(f"the system did not become ready\n{out}\n{sys_.log_tail()}")
        yield sys_
    finally:
        try:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # anything left behind
        except ProcessLookupError:
            pass
        process.wait()
        for url in databases:
            try:
                servers.drop_database(url)
            except Exception:
                pass
