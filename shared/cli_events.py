"""`cadena events …`: watch the event stream, print the event catalogue,
replay dead letters."""
from __future__ import annotations

import click

from shared import config


@click.group()
def events():
    """Watch the event stream and replay dead letters."""


@events.command()
@click.argument("pattern", default="#")
@click.option("--data/--no-data", default=False, help="print each event's data too")
def tail(pattern, data):
    """Print events as they pass (PATTERN is an AMQP topic pattern, e.g. 'accounts.#')."""
    from shared.tools import tail_events

    from shared.cli import require_broker  # here: `python -m shared.cli` imports it as __main__ first

    require_broker()
    tail_events(config.load("gateway").amqp_url, pattern, show_data=data)


@events.command("catalogue")
@click.option("--write", is_flag=True, help="rewrite the catalogue in docs/events.md")
def events_catalogue(write):
    """Print every event's contract as a table (generated from services/*/events.py)."""
    from shared.asyncapi import catalogue_markdown, with_catalogue
    from shared.contracts import catalogue

    if not write:
        click.echo(catalogue_markdown(catalogue()))
        return
    path = config.ROOT / "docs" / "events.md"
    path.write_text(with_catalogue(path.read_text(), catalogue()))
    click.echo(f"Wrote the catalogue into {path.relative_to(config.ROOT)}")


@events.command("replay-dlq")
@click.argument("service")
@click.option("--purpose", default="events", show_default=True)
def replay_dlq(service, purpose):
    """Move a service's dead letters back to its queue."""
    from shared.tools import replay_dead_letters

    from shared.cli import Failure, component_module, require_broker

    component_module(service)
    require_broker()
    try:
        moved = replay_dead_letters(config.load(service).amqp_url, f"cadena.{service}.{purpose}")
    except LookupError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"Replayed {moved} message(s) from cadena.{service}.{purpose}.dlq")
