"""The `cadena` command (CONTRACTS §6)."""
from __future__ import annotations

import importlib
import importlib.util
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import click

from shared import config


class Failure(click.ClickException):
    """A one-line error that says what is wrong and how to fix it."""

    def show(self, file=None):
        click.echo(f"cadena: {self.format_message()}", err=True)


def built_components(only: str | None = None) -> list[str]:
    """The gateway and every context whose package has an app factory
    (``only``, or CADENA_COMPONENTS=gateway,accounts,…, narrows it)."""
    only = only if only is not None else config.components_wanted()
    only = {n.strip() for n in only.split(",") if n.strip()}
    names = ["gateway"]
    for name in config.SERVICE_PORTS:
        if only and name not in only:
            continue
        # Found, not imported: `cadena up` stays small and a broken service
        # fails in its own process, with its own error.
        if importlib.util.find_spec(f"services.{name}.app") is not None:
            names.append(name)
    return names


def component_module(name: str):
    if name not in config.COMPONENTS:
        raise Failure(f"unknown component '{name}'; choose one of: {', '.join(config.COMPONENTS)}")
    try:
        return importlib.import_module("gateway.app" if name == "gateway" else f"services.{name}.app")
    except ModuleNotFoundError:
        raise Failure(f"the {name} service is not part of this build yet") from None


def require_broker(url: str | None = None) -> None:
    from shared.bus import BrokerUnavailable, check_broker

    url = url or config.load("gateway").amqp_url
    try:
        check_broker(url)
    except BrokerUnavailable as exc:
        raise Failure(f"{exc}. Start it (e.g. `rabbitmq-server -detached`) or set CADENA_AMQP_URL "
                      "to a running broker.") from None


def require_broker_free(components, url: str | None = None) -> None:
    """Two systems on one virtual host would split each other's events; refuse."""
    import pika

    from shared.bus import parameters

    url = url or config.load("gateway").amqp_url
    conn = pika.BlockingConnection(parameters(url))
    try:
        for name in components:
            channel = conn.channel()
            try:
                consumers = channel.queue_declare(f"cadena.{name}.events", passive=True).method.consumer_count
            except pika.exceptions.ChannelClosedByBroker:
                continue  # never declared: nobody consumes it
            if consumers:
                raise Failure(f"another Cadena system is already consuming cadena.{name}.events on this broker; "
                              "stop it, or give this one its own virtual host in CADENA_AMQP_URL.")
    finally:
        if conn.is_open:
            conn.close()


def require_databases(components) -> None:
    from sqlalchemy import create_engine, text

    for name in components:
        url = config.database_url(name)
        if url.startswith("sqlite"):
            continue
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            host = engine.url.render_as_string(hide_password=True)
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:160]
            raise Failure(f"the {name} database at {host} is unreachable ({reason}); start PostgreSQL or fix "
                          f"CADENA_{name.upper()}_DATABASE_URL.") from None
        finally:
            engine.dispose()


def _port_of(name: str) -> int:
    if name == "gateway":
        return config.gateway_port()
    from urllib.parse import urlparse

    return urlparse(config.service_url(name)).port or config.SERVICE_PORTS[name]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Cadena: an event-driven CRM for companies that sell to companies."""


# -- processes ------------------------------------------------------------------

@cli.command()
@click.argument("component")
@click.option("--bind", help="host:port to listen on (default 127.0.0.1 and the component's port)")
def serve(component, bind):
    """Run a component's web process (gunicorn)."""
    if component not in config.COMPONENTS:
        raise Failure(f"unknown component '{component}'; choose one of: {', '.join(config.COMPONENTS)}")
    from gunicorn.app.base import BaseApplication

    from shared import web_errors

    workers, threads = config.web_size()
    if workers > 1 and not config.multiprocess_metrics_dir():
        metrics_dir = config.var_dir() / "metrics" / component
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
        config.share_metrics_in(metrics_dir)

    class Server(BaseApplication):
        def load_config(self):
            web_errors.install()
            self.cfg.set("bind", bind or f"127.0.0.1:{_port_of(component)}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("timeout", 30)
            self.cfg.set("limit_request_line", web_errors.REQUEST_LINE_LIMIT)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)
            self.cfg.set("proc_name", f"cadena-{component}")

        def load(self):
            # Imported and built in the gunicorn worker, after the fork: the
            # master stays small and holds no engine or socket.
            return component_module(component).create_app()

    Server().run()


@cli.command()
@click.argument("component")
def worker(component):
    """Run a component's worker: outbox relay, event consumers, scheduled jobs."""
    component_module(component).create_worker().run_forever()


@cli.command()
@click.argument("components", nargs=-1)
def migrate(components):
    """Apply database migrations (all components by default)."""
    from shared.migrations import upgrade

    names = list(components) or built_components()
    for name in names:
        component_module(name)
    require_databases(names)
    from rich.progress import track

    for name in track(names, description="Migrating", transient=True):
        upgrade(name)
    if "gateway" in names:
        from gateway import identity
        from gateway.app import open_db

        db = open_db(config.load("gateway"))
        identity.ensure_admin(db, config.load("gateway").admin_password)
        db.dispose()
    click.echo(f"Migrated: {', '.join(names)}")


@cli.command()
@click.option("--logs", is_flag=True, help="stream every process's log here instead of var/log/cadena.log")
@click.option("--no-seed", is_flag=True, help="do not load demo data on first run")
def up(logs, no_seed):
    """Start the whole system locally: migrate, run every process, load demo data on first run."""
    from shared.supervisor import Supervisor

    names = built_components()
    busy = [f"{n} ({_port_of(n)})" for n in names if not _port_free(_port_of(n))]
    if busy:
        raise Failure(f"port(s) in use: {', '.join(busy)}; is `cadena up` already running? Stop it or set "
                      "CADENA_GATEWAY_PORT / CADENA_<SERVICE>_URL.")
    require_broker()
    require_broker_free(names)
    require_databases(names)
    exe = [sys.executable, "-m", "shared.cli"]
    # Migrations run in a child process so this long-lived one stays small.
    if subprocess.call([*exe, "migrate", *names]) != 0:
        raise Failure("migrations failed (see above); fix the database and run `cadena up` again.")
    env = config.child_environment()
    env.setdefault("CADENA_ENV", "dev")
    env["PYTHONUNBUFFERED"] = "1"
    sink_port = None
    if not env.get("CADENA_SMTP_URL"):
        sink_port = int(env.get("CADENA_SMTP_SINK_PORT", "8025"))
        env["CADENA_SMTP_URL"] = f"smtp://127.0.0.1:{sink_port}"
    log_dir = config.var_dir() / "log"
    log_dir.mkdir(exist_ok=True)
    log_path = log_dir / "cadena.log"
    supervisor = Supervisor(sys.stdout if logs else open(log_path, "a", buffering=1))
    for name in names:
        supervisor.start(f"{name}.web", [*exe, "serve", name], env)
        supervisor.start(f"{name}.worker", [*exe, "worker", name], env)
    if sink_port and _port_free(sink_port):
        supervisor.start("smtp-sink", [*exe, "smtp-sink", "--port", str(sink_port)], env)
    url = config.service_url("gateway")
    threading.Thread(target=_announce, args=(url, names, not no_seed, log_path if not logs else None),
                     daemon=True).start()
    sys.exit(supervisor.run())


def _wait_ready(url: str, timeout: float = 60) -> bool:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except Exception:
            pass
        time.sleep(0.3)
    return False


def _announce(url: str, names: list[str], seed: bool, log_path: Path | None) -> None:
    ready = all(_wait_ready(url if n == "gateway" else config.service_url(n)) for n in names)
    if not ready:
        click.echo(f"cadena: not every process became ready; see {log_path or 'the log above'}", err=True)
        return
    from shared import demo

    marker = config.var_dir() / ".seeded"
    if seed and not marker.exists():
        try:
            demo.seed(url, names)
            marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        except Exception as exc:
            click.echo(f"cadena: loading demo data failed: {exc}", err=True)
    password = config.load("gateway").admin_password or "$CADENA_ADMIN_PASSWORD"
    click.echo("")
    click.echo(f"Cadena is up: {url}  (API under {url}/api/v1, OpenAPI at {url}/api/v1/openapi.json)")
    click.echo(f"Console: {url}/app/  Log in as admin@cadena.local / {password}"
               + (f", or as the demo manager lucia.fernandez@cadena.local or the demo rep "
                  f"javier.morales@cadena.local / {demo.PASSWORD}" if marker.exists() else "") + ".")
    click.echo(f"Processes: {', '.join(names)}.")
    if log_path:
        click.echo(f"Logs: {log_path}. Stop with Ctrl-C.")


@cli.command()
@click.option("--gateway", "url", help="the gateway's URL (default: CADENA_GATEWAY_URL or the local one)")
def seed(url):
    """Load demo data into a running system through the gateway."""
    from shared import demo

    url = url or config.service_url("gateway")
    if not _wait_ready(url, timeout=3):
        raise Failure(f"the gateway at {url} is not answering; start the system with `cadena up`.")
    demo.seed(url, built_components())


@cli.command("smtp-sink")
@click.option("--port", default=8025, show_default=True)
def smtp_sink(port):
    """A local SMTP server that keeps what it receives under var/mail (for the demo)."""
    from shared.mail import run_sink

    run_sink(port, config.var_dir() / "mail")


@cli.command("billing-demo")
@click.option("--queue", default="billing.demo.won-deals", show_default=True, help="the queue this consumer binds")
def billing_demo(queue):
    """A reference billing consumer: binds its own queue to won deals and prints a draft invoice for each."""
    require_broker()
    try:
        from services.opportunities.billing_demo import run
    except ModuleNotFoundError:
        raise Failure("the opportunities service is not part of this build") from None
    run(config.load("opportunities").amqp_url, queue)


# -- tests ------------------------------------------------------------------------

@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def test(ctx):
    """Run the test suite (unit, integration on Postgres + RabbitMQ, e2e). Extra args go to pytest."""
    if str(config.ROOT) not in sys.path:
        sys.path.insert(0, str(config.ROOT))  # the suite lives in the checkout, not in the package
    from tests.support import servers

    problem = servers.missing()
    if problem:
        raise Failure(problem)
    # Fastest first; the fault suite's slow cases run with `cadena test tests/faults`.
    levels = [p for p in ("tests/unit", "tests/console", "tests/integration", "tests/faults", "tests/e2e") if (config.ROOT / p).is_dir()]
    args = list(ctx.args) or [*levels, "-q", "-m", "not slow"]
    code = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=config.ROOT)
    sys.exit(code)


# -- bench -----------------------------------------------------------------------

@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("which", default="all")
@click.pass_context
def bench(ctx, which):
    """Run benchmarks: write, opportunities, consumer, latency, aggregate, listing, revocation, tracing, search,
    webhooks, all (then report), or report alone.

    Each prints ratios against a raw baseline measured in the same run; flags after the name go to that bench
    (see docs/performance.md)."""
    from bench import runner

    runner.main(which, list(ctx.args))


class _LazyGroup(click.Group):
    """A command group imported only when it is run, so the processes that
    `cadena` starts (every web and worker) don't load its dependencies."""

    def __init__(self, name: str, target: str, help_text: str):
        super().__init__(name, help=help_text)
        self.target = target

    def _real(self) -> click.Group:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def list_commands(self, ctx):
        return self._real().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._real().get_command(ctx, name)


def _add_events() -> None:
    from shared.cli_events import events
    from shared.cli_import import import_file

    cli.add_command(events)
    cli.add_command(import_file)


_add_events()
cli.add_command(_LazyGroup("api-client", "gateway.cli:api_client",
                           "API clients: identities for internal apps (client-credentials grant)."))
cli.add_command(_LazyGroup("webhooks", "gateway.cli:webhooks_group",
                           "Webhooks: test one with a signed ping, or run the delivery worker."))


def main(argv=None) -> None:
    try:
        cli.main(args=argv, prog_name="cadena", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"cadena: {exc.format_message()} (see `cadena --help`)", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
