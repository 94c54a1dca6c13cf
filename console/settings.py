"""The console's settings: the only place that reads its environment."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from shared import config


@dataclass(frozen=True)
class ConsoleSettings:
    secret: str
    api_url: str | None  # None: call the API in-process (mounted inside the gateway)
    env: str = "dev"
    timezone: str = "Europe/Madrid"
    http_timeout: float = 10.0
    upload_dir: str = ""  # where an import's file waits between its steps (mapping, preview, start)

    @property
    def secure_cookies(self) -> bool:
        return self.env != "dev"


def _secret() -> str:
    """CADENA_CONSOLE_SECRET, else one made once and kept under var/ so that
    sessions survive a restart (every replica must share it in production)."""
    given = os.environ.get("CADENA_CONSOLE_SECRET")
    if given:
        return given
    path = config.var_dir() / "console-secret"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load(in_process: bool = False, **overrides) -> ConsoleSettings:
    env = os.environ
    api_url = env.get("CADENA_CONSOLE_API_URL")
    if not api_url and not in_process:
        api_url = config.service_url("gateway")
    values = dict(
        secret=_secret(),
        api_url=api_url.rstrip("/") if api_url else None,
        env=env.get("CADENA_ENV", "dev"),
        timezone=env.get("CADENA_CONSOLE_TIMEZONE", "Europe/Madrid"),
        http_timeout=float(env.get("CADENA_HTTP_TIMEOUT", "5")) * 2,
        upload_dir=str(config.var_dir() / "console-uploads"),
    )
    values.update(overrides)
    return ConsoleSettings(**values)
