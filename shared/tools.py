"""Operator tools behind `cadena events …`."""
from __future__ import annotations

import json

import pika

from shared.bus import parameters
from shared.events import EXCHANGE, InvalidEvent, decode


def tail_events(url: str, pattern: str, *, show_data: bool = False, limit: int | None = None) -> int:
    """Bind a private, auto-deleted queue to the pattern and print what passes."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)  # one line per event, also through a pipe
    conn = pika.BlockingConnection(parameters(url))
    channel = conn.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
    channel.queue_bind(queue, EXCHANGE, routing_key=pattern)
    console.print(f"[dim]Listening for '{escape(pattern)}' on {EXCHANGE}; Ctrl-C to stop.[/dim]")
    seen = 0
    try:
        for method, _props, body in channel.consume(queue, auto_ack=True, inactivity_timeout=1):
            if method is None:
                continue
            seen += 1
            try:
                event = decode(body)
                console.print(f"[cyan]{event['time'][11:23]}[/cyan] [bold]{escape(event['type'])}[/bold] "
                              f"subject={escape(str(event.get('subject', '-')))} id={escape(event['id'][:8])} "
                              f"correlation={escape(str(event.get('correlationid', '-'))[:8])}")
                if show_data:
                    console.print_json(json.dumps(event["data"]))
            except InvalidEvent as exc:
                console.print(f"[red]{escape(method.routing_key)}: not a CloudEvent ({escape(str(exc))})[/red]")
            if limit and seen >= limit:
                break
    except KeyboardInterrupt:
        pass
    finally:
        try:
            conn.close()
        except Exception:
            pass
    return seen


def replay_dead_letters(url: str, queue: str) -> int:
    """Move every message of ``<queue>.dlq`` back to ``queue`` (publish, confirm, then ack)."""
    from rich.progress import Progress

    dlq = f"{queue}.dlq"
    conn = pika.BlockingConnection(parameters(url))
    try:
        channel = conn.channel()
        try:
            total = channel.queue_declare(dlq, passive=True).method.message_count
            channel = conn.channel()
            channel.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                raise LookupError(f"no queue {dlq} or {queue} on this broker; has the service's worker run "
                                  "against CADENA_AMQP_URL?") from None
            raise
        channel.confirm_delivery()
        moved = 0
        with Progress(transient=True) as progress:
            task = progress.add_task(f"Replaying {dlq}", total=total)
            while moved < total:
                method, props, body = channel.basic_get(dlq, auto_ack=False)
                if method is None:
                    break
                headers = {k: v for k, v in (props.headers or {}).items()
                           if k != "x-death" and not k.startswith(("x-first-death", "x-last-death"))}
                headers["x-cadena-replayed"] = headers.get("x-cadena-replayed", 0) + 1
                props.headers = headers
                channel.basic_publish("", queue, body, props, mandatory=True)  # confirmed before the ack
                channel.basic_ack(method.delivery_tag)
                moved += 1
                progress.advance(task)
        return moved
    finally:
        if conn.is_open:
            conn.close()
