"""Reading the real broker the way an outside system would."""
from __future__ import annotations

import uuid

import pika

from shared.bus import bind_queue, parameters
from shared.events import decode


class Listener:
    """A queue bound to patterns on cadena.events; drain() returns decoded events."""

    def __init__(self, amqp_url: str, patterns, name: str | None = None):
        self.amqp_url = amqp_url
        self.name = name or f"test.listener.{uuid.uuid4().hex[:8]}"
        bind_queue(amqp_url, self.name, patterns)
        self.events: list[dict] = []
        self.raw: list[tuple] = []

    def drain(self) -> list[dict]:
        conn = pika.BlockingConnection(parameters(self.amqp_url))
        try:
            channel = conn.channel()
            while True:
                method, props, body = channel.basic_get(self.name, auto_ack=True)
                if method is None:
                    break
                self.raw.append((method, props, body))
                self.events.append(decode(body))
        finally:
            conn.close()
        return self.events

    def of_type(self, event_type: str, subject: str | None = None) -> list[dict]:
        self.drain()
        return [e for e in self.events if e["type"] == event_type and (subject is None or e.get("subject") == subject)]

    def delete(self) -> None:
        conn = pika.BlockingConnection(parameters(self.amqp_url))
        try:
            channel = conn.channel()
            channel.queue_delete(self.name)
            channel.queue_delete(self.name + ".dlq")
        finally:
            conn.close()
