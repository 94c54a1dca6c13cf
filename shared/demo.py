"""Demo data, loaded through the gateway's public API so every event flows
as it would in real use. Each context adds its part in services/<name>/seed.py
(a ``seed(ctx)`` function), run in dependency order."""
from __future__ import annotations

import importlib
import json
import random
import urllib.error
import urllib.request
from dataclasses import dataclass, field

ORDER = ("accounts", "opportunities", "activities", "support", "campaigns")
PASSWORD = "cadena-demo"


class DemoError(RuntimeError):
    pass


class DemoClient:
    def __init__(self, url: str, email: str = "admin@cadena.local", password: str | None = None):
        from shared import config

        self.url = url.rstrip("/")
        password = password or config.load("gateway").admin_password
        self.token = self.post("/api/v1/auth/token", {"email": email, "password": password}, auth=False)["access_token"]

    def request(self, method: str, path: str, body=None, *, auth: bool = True, token: str | None = None):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {token or self.token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise DemoError(f"{method} {path} → {exc.code}: {exc.read()[:300].decode(errors='replace')}") from None
        return json.loads(raw) if raw else None

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)


@dataclass
class DemoContext:
    client: DemoClient
    rng: random.Random
    users: list[dict] = field(default_factory=list)
    accounts: list[dict] = field(default_factory=list)
    contacts: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def by_role(self, role: str) -> list[dict]:
        return [u for u in self.users if u["role"] == role]

    def token_for(self, user: dict) -> str:
        tokens = self.extra.setdefault("tokens", {})
        if user["id"] not in tokens:
            tokens[user["id"]] = self.client.post(
                "/api/v1/auth/token", {"email": user["email"], "password": PASSWORD}, auth=False)["access_token"]
        return tokens[user["id"]]


USERS = [
    # name, email, role, team
    ("Lucía Fernández", "lucia.fernandez", "manager", "Iberia"),
    ("Javier Morales", "javier.morales", "rep", "Iberia"),
    ("Marta Ruiz", "marta.ruiz", "rep", "Iberia"),
    ("Pablo Sánchez", "pablo.sanchez", "rep", "Iberia"),
    ("Valentina Rojas", "valentina.rojas", "manager", "LatAm"),
    ("Diego Herrera", "diego.herrera", "rep", "LatAm"),
    ("Camila Torres", "camila.torres", "rep", "LatAm"),
    ("Andrés Castillo", "andres.castillo", "support", "Soporte"),
    ("Elena Navarro", "elena.navarro", "support", "Soporte"),
    ("Sofía Vargas", "sofia.vargas", "marketing", "Marketing"),
    ("Carlos Ortega", "carlos.ortega", "readonly", "Dirección"),
]


def seed_users(ctx: DemoContext) -> None:
    existing = {u["email"]: u for u in ctx.client.get("/api/v1/users?limit=200")["items"]}
    managers: dict[str, str] = {}
    for name, login, role, team in USERS:
        email = f"{login}@cadena.local"
        user = existing.get(email) or ctx.client.post("/api/v1/users", {
            "email": email, "name": name, "role": role, "team": team, "password": PASSWORD,
            "manager_id": managers.get(team) if role != "manager" else None})
        if role == "manager":
            managers[team] = user["id"]
        ctx.users.append(user)


def seed(url: str, components) -> DemoContext:
    from rich.progress import Progress

    ctx = DemoContext(DemoClient(url), random.Random(20261123))
    steps = [("users", seed_users)]
    for name in ORDER:
        if name not in components:
            continue
        try:
            module = importlib.import_module(f"services.{name}.seed")
        except ModuleNotFoundError:
            continue
        steps.append((name, module.seed))
    with Progress() as progress:
        task = progress.add_task("Loading demo data", total=len(steps))
        for name, step in steps:
            progress.update(task, description=f"Loading demo data: {name}")
            step(ctx)
            progress.advance(task)
    return ctx
