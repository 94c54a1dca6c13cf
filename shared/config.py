"""Settings, read from the environment in one place: this module is the only
reader of the environment (tests/unit/test_shared.py holds every other
module to it; the console keeps its own, console/settings.py).

Every process calls :func:`load` once, in its factory or entry point, never at
import time, so tests can set variables before a process is built.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The bounded contexts and their local default ports (CONTRACTS §1).
SERVICE_PORTS: dict[str, int] = {
    "accounts": 8001,
    "opportunities": 8002,
    "activities": 8003,
    "campaigns": 8004,
    "support": 8005,
}
GATEWAY_PORT = 8000
COMPONENTS = ("gateway", *SERVICE_PORTS)


def var_dir() -> Path:
    path = Path(os.environ.get("CADENA_VAR_DIR", ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def normalise_database_url(url: str) -> str:
    """Accept the plain ``postgresql://`` URLs operators copy from their
    tooling, and drive them with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def database_url(component: str) -> str:
    url = os.environ.get(f"CADENA_{component.upper()}_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{var_dir() / (component + '.db')}"


def service_url(component: str) -> str:
    if component == "gateway":
        default = f"http://127.0.0.1:{gateway_port()}"
        return os.environ.get("CADENA_GATEWAY_URL", default).rstrip("/")
    default = f"http://127.0.0.1:{SERVICE_PORTS[component]}"
    return os.environ.get(f"CADENA_{component.upper()}_URL", default).rstrip("/")


def gateway_port() -> int:
    return int(os.environ.get("CADENA_GATEWAY_PORT", GATEWAY_PORT))


# -- what a process (not a component) is told ---------------------------------------

def components_wanted() -> str:
    """CADENA_COMPONENTS: the components to run locally (all when empty)."""
    return os.environ.get("CADENA_COMPONENTS", "")


def web_size() -> tuple[int, int]:
    """Gunicorn workers and threads per web process (CADENA_WEB_WORKERS / _THREADS)."""
    return int(os.environ.get("CADENA_WEB_WORKERS", "1")), int(os.environ.get("CADENA_WEB_THREADS", "4"))


def log_level() -> str:
    return os.environ.get("CADENA_LOG_LEVEL", "INFO").upper()


def metrics_port() -> int | None:
    """CADENA_METRICS_PORT: where a worker serves its metrics (none when unset)."""
    port = os.environ.get("CADENA_METRICS_PORT")
    return int(port) if port else None


def multiprocess_metrics_dir() -> str | None:
    """Set when several gunicorn workers share their metrics (prometheus_client reads it too)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def share_metrics_in(path: Path) -> None:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def api_credentials() -> dict[str, str | None]:
    """How command-line tools log in to the public API: CADENA_API_TOKEN (a
    bearer token), else CADENA_API_EMAIL / CADENA_API_PASSWORD (by default
    the bootstrap admin and CADENA_ADMIN_PASSWORD, whose default is `admin`
    in dev)."""
    dev_password = "admin" if os.environ.get("CADENA_ENV", "dev") == "dev" else None
    return {"token": os.environ.get("CADENA_API_TOKEN") or None,
            "email": os.environ.get("CADENA_API_EMAIL", "admin@cadena.local"),
            "password": os.environ.get("CADENA_API_PASSWORD") or os.environ.get("CADENA_ADMIN_PASSWORD") or dev_password}


def child_environment() -> dict[str, str]:
    """The environment the processes `cadena up` starts inherit."""
    return dict(os.environ)


def component_extras(component: str) -> dict[str, str]:
    """CADENA_<COMPONENT>_<NAME> settings of one component, as {name: value}
    (e.g. CADENA_CAMPAIGNS_MAIL_FROM → {"mail_from": …}), less its URLs."""
    prefix = f"CADENA_{component.upper()}_"
    return {key[len(prefix):].lower(): value for key, value in os.environ.items()
            if key.startswith(prefix) and key[len(prefix):] not in ("URL", "DATABASE_URL")}


@dataclass(frozen=True)
class Settings:
    component: str
    database_url: str
    amqp_url: str
    env: str = "dev"
    gateway_url: str = ""
    public_url: str = ""  # how users' apps (e.g. calendar clients) reach the gateway
    inactive_after_days: int = 365
    smtp_url: str | None = None
    admin_password: str | None = None
    http_timeout: float = 5.0
    aggregate_deadline: float = 0.8
    consumer_delivery_limit: int = 5
    # Deliveries a consumer may hold unanswered: the largest window it handles
    # in one transaction when a burst is queued (one event at a time when not).
    consumer_prefetch: int = 250
    # How long a consumer under a steady stream waits to fill a window (s).
    consumer_linger: float = 0.1
    # How much lower the consumers' threads run than the rest (Linux nice, 0-19): under a
    # full machine, requests and imports go first and consumers take larger windows.
    consumer_nice: int = 10
    relay_batch: int = 500
    # How long the relay, woken while commits come several per pass, waits for more (s).
    relay_linger: float = 0.02
    jwt_private_key_file: str | None = None
    max_body_bytes: int = 1024 * 1024
    import_max_body_bytes: int = 100 * 1024 * 1024
    access_token_ttl: int = 900
    refresh_token_days: int = 14
    outbox_retention_days: float = 7.0
    inbox_retention_days: float = 7.0
    retention_interval: float = 600.0
    revocation_cache_seconds: float = 1.0
    base_currency: str = "EUR"  # what totals across currencies are given in (CONTRACTS §11)
    unsubscribe_secret: str | None = None  # signs campaign mail's one-click unsubscribe links
    proxy_hops: int = 0  # trusted reverse proxies in front of the gateway (X-Forwarded-For)
    otlp_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: spans are recorded and exported there
    # Webhooks (docs/webhooks.md): where they may point, how long one try
    # waits, the retry schedule and how the delivery worker runs.
    webhook_allow_private: bool = False  # loopback, private, link-local… destinations (dev only)
    webhook_allowed_networks: tuple[str, ...] = ()  # when set, destinations must be in one of these
    webhook_timeout: float = 10.0
    webhook_retry_base: float = 10.0  # seconds before the first retry; doubles per attempt
    webhook_retry_max: float = 6 * 3600.0  # the longest wait between two attempts
    webhook_retry_window: float = 3 * 86400.0  # failing this long disables the webhook
    webhook_threads: int = 8  # concurrent deliveries per delivery worker
    webhook_per_endpoint: int = 2  # concurrent deliveries to one webhook per delivery worker
    webhook_inline: bool = True  # the gateway's worker delivers too (off where a delivery worker runs apart)
    webhook_log_retention_days: float = 30.0  # delivery attempts kept this long
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def jwks_url(self) -> str:
        return f"{self.gateway_url}/api/v1/auth/jwks.json"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _webhook_settings(env) -> dict:
    networks = tuple(n.strip() for n in env.get("CADENA_WEBHOOK_ALLOWED_NETWORKS", "").split(",") if n.strip())
    return dict(
        webhook_allow_private=_flag(env.get("CADENA_WEBHOOK_ALLOW_PRIVATE")),
        webhook_allowed_networks=networks,
        webhook_timeout=float(env.get("CADENA_WEBHOOK_TIMEOUT", "10")),
        webhook_retry_base=float(env.get("CADENA_WEBHOOK_RETRY_BASE_SECONDS", "10")),
        webhook_retry_max=float(env.get("CADENA_WEBHOOK_RETRY_MAX_SECONDS", str(6 * 3600))),
        webhook_retry_window=float(env.get("CADENA_WEBHOOK_RETRY_WINDOW_SECONDS", str(3 * 86400))),
        webhook_threads=max(1, int(env.get("CADENA_WEBHOOK_THREADS", "8"))),
        webhook_per_endpoint=max(1, int(env.get("CADENA_WEBHOOK_PER_ENDPOINT", "2"))),
        webhook_inline=_flag(env.get("CADENA_WEBHOOK_INLINE", "1")),
        webhook_log_retention_days=float(env.get("CADENA_WEBHOOK_LOG_RETENTION_DAYS", "30")),
    )


def load(component: str, **overrides) -> Settings:
    env = os.environ
    mode = env.get("CADENA_ENV", "dev")
    admin_password = env.get("CADENA_ADMIN_PASSWORD") or ("admin" if mode == "dev" else None)
    values = dict(
        component=component,
        database_url=database_url(component),
        amqp_url=env.get("CADENA_AMQP_URL", "amqp://guest:guest@localhost:5672/%2F"),
        env=mode,
        gateway_url=service_url("gateway"),
        public_url=env.get("CADENA_PUBLIC_URL", service_url("gateway")).rstrip("/"),
        inactive_after_days=int(env.get("CADENA_INACTIVE_AFTER_DAYS", "365")),
        smtp_url=env.get("CADENA_SMTP_URL"),
        admin_password=admin_password,
        http_timeout=float(env.get("CADENA_HTTP_TIMEOUT", "5")),
        aggregate_deadline=float(env.get("CADENA_AGGREGATE_DEADLINE", "0.8")),
        consumer_delivery_limit=int(env.get("CADENA_DELIVERY_LIMIT", "5")),
        consumer_prefetch=int(env.get("CADENA_CONSUMER_PREFETCH", "250")),
        consumer_linger=float(env.get("CADENA_CONSUMER_LINGER_MS", "100")) / 1000,
        consumer_nice=min(19, max(0, int(env.get("CADENA_CONSUMER_NICE", "10")))),
        relay_batch=int(env.get("CADENA_RELAY_BATCH", "500")),
        relay_linger=float(env.get("CADENA_RELAY_LINGER_MS", "20")) / 1000,
        jwt_private_key_file=env.get("CADENA_JWT_PRIVATE_KEY_FILE"),
        max_body_bytes=int(env.get("CADENA_MAX_BODY_BYTES", str(1024 * 1024))),
        import_max_body_bytes=int(env.get("CADENA_IMPORT_MAX_BODY_BYTES", str(100 * 1024 * 1024))),
        # Short by design (§7): a refresh token renews it, revocation bounds the rest.
        access_token_ttl=min(900, int(env.get("CADENA_ACCESS_TOKEN_TTL", "900"))),
        refresh_token_days=int(env.get("CADENA_REFRESH_TOKEN_DAYS", "14")),
        outbox_retention_days=float(env.get("CADENA_OUTBOX_RETENTION_DAYS", "7")),
        inbox_retention_days=float(env.get("CADENA_INBOX_RETENTION_DAYS", "7")),
        retention_interval=float(env.get("CADENA_RETENTION_INTERVAL", "600")),
        revocation_cache_seconds=float(env.get("CADENA_REVOCATION_CACHE_SECONDS", "1")),
        proxy_hops=int(env.get("CADENA_PROXY_HOPS", "0")),
        otlp_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or None,
        **_webhook_settings(env),
        extra=component_extras(component),
        base_currency=env.get("CADENA_BASE_CURRENCY", "EUR").strip().upper() or "EUR",
        unsubscribe_secret=env.get("CADENA_UNSUBSCRIBE_SECRET") or None,
    )
    values.update(overrides)
    return Settings(**values)
