"""Operator tools behind `cadena events …`."""
from __future__ import annotations

import json

import pika

from shared.bus import parameters
from shared.events import EXCHANGE, InvalidEvent, decode


def tail_events(url: str, pattern: str, *, show_data: bool = False, limit: int | None = None) -> int:
    """Bind a private, auto-deleted queue to the pattern and print what passes."""
    from rich.console import Console

    console = Console(highlight=False)
    conn = pika.BlockingConnection(parameters(url))
    channel = conn.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
    channel.queue_bind(queue, EXCHANGE, routing_key=pattern)
    console.print(f"[dim]Listening for '{pattern}' on {EXCHANGE}; Ctrl-C to stop.[/dim]")
    seen = 0
    try:
        for method, _props, body in channel.consume(queue, auto_ack=True, inactivity_timeout=1):
            if method is None:
                continue
            seen += 1
            try:
                event = decode(body)
                console.print(f"[cyan]{event['time'][11:23]}[/cyan] [bold]{event['type']}[/bold] "
                              f"subject={event.get('subject', '-')} id={event['id'][:8]} "
                              f"correlation={str(event.get('correlationid', '-'))[:8]}")
                if show_data:
                    console.print_json(json.dumps(event["data"]))
            except InvalidEvent as exc:
                console.print(f"[red]{method.routing_key}: not a CloudEvent ({exc})[/red]")
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

    conn = pika.BlockingConnection(parameters(url))
    channel = conn.channel()
    channel.confirm_delivery()
    dlq = f"{queue}.dlq"
    total = channel.queue_declare(dlq, passive=True).method.message_count
    moved = 0
    with Progress(transient=True) as progress:
        task = progress.add_task(f"Replaying {dlq}", total=total)
        while moved < total:
            method, props, body = channel.basic_get(dlq, auto_ack=False)
            if method is None:
                break
            headers = dict(props.headers or {})
            headers.pop("x-death", None)
            headers["x-cadena-replayed"] = headers.get("x-cadena-replayed", 0) + 1
            props.headers = headers
            channel.basic_publish("", queue, body, props, mandatory=True)  # confirmed before the ack
            channel.basic_ack(method.delivery_tag)
            moved += 1
            progress.advance(task)
    conn.close()
    return moved
