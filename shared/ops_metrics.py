"""Metrics only a worker can give: how far behind its consumers are.

The worker knows its queue; the broker knows how many messages are ready in
it. At scrape time the collector asks the broker with a passive
``queue_declare`` (it never creates a queue), at most once every
``min_interval`` seconds, so frequent scrapes, a liveness probe on the same
port or several Prometheus servers cost the broker one round trip per queue
every few seconds. When the broker can't be read the series are left out
(never a stale number) and the scrape still answers.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Iterable

import pika
from pika.exceptions import AMQPError, ChannelClosedByBroker
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from shared.bus import parameters
from shared.observability import get_logger

log = get_logger("cadena.ops_metrics")


@dataclass(frozen=True)
class QueueDepth:
    ready: int
    consumers: int


class ConsumerLagCollector:
    """``cadena_consumer_lag{component,queue}``: messages ready (not yet
    delivered) in each queue; ``cadena_queue_consumers``: consumers attached;
    ``cadena_dead_letters{component,queue}``: messages in ``<queue>.dlq``."""

    def __init__(self, amqp_url: str, component: str, queues: Iterable[str], *,
                 min_interval: float = 5.0, timeout: float = 1.5):
        self.amqp_url = amqp_url
        self.component = component
        self.queues = tuple(queues)
        self.min_interval = min_interval
        self.timeout = timeout
        self._lock = threading.Lock()  # scrapes run on several threads; pika is not thread-safe
        self._conn = None
        self._channel = None
        self._read_at: float | None = None
        self._depths: dict[str, QueueDepth] = {}

    # -- reading the broker ------------------------------------------------
    def read(self) -> dict[str, QueueDepth]:
        """Depth of every queue and its DLQ that exists, at most ``min_interval`` old."""
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at >= self.min_interval:
                # A failed read is remembered too: a broker that is down costs
                # one timeout per interval, not one per scrape.
                self._read_at = now
                self._depths = self._query()
            return dict(self._depths)

    def _query(self) -> dict[str, QueueDepth]:
        depths: dict[str, QueueDepth] = {}
        try:
            for name in self.queues:
                for queue in (name, f"{name}.dlq"):
                    depth = self._declare_passive(queue)
                    if depth is not None:
                        depths[queue] = depth
        except (AMQPError, OSError) as exc:
            log.warning("queue_depth_unavailable", component=self.component, error=type(exc).__name__)
            self._disconnect()
            return {}
        return depths

    def _declare_passive(self, queue: str) -> QueueDepth | None:
        if self._conn is None or not self._conn.is_open:
            # No heartbeats: this connection is idle between scrapes and
            # nothing would answer them; a dead one fails the next read and
            # is opened again.
            self._conn = pika.BlockingConnection(parameters(self.amqp_url, heartbeat=0, timeout=self.timeout))
            self._channel = None
        if self._channel is None or not self._channel.is_open:
            self._channel = self._conn.channel()
        try:
            frame = self._channel.queue_declare(queue, passive=True)
        except ChannelClosedByBroker as exc:
            self._channel = None
            if exc.reply_code == 404:  # not declared yet: no consumer has started
                return None
            raise
        return QueueDepth(frame.method.message_count, frame.method.consumer_count)

    def _disconnect(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    # -- the Prometheus collector protocol ---------------------------------
    def _families(self):
        return (
            GaugeMetricFamily("cadena_consumer_lag", "Messages ready in the queue, not yet delivered to a consumer",
                              labels=["component", "queue"]),
            GaugeMetricFamily("cadena_queue_consumers", "Consumers attached to the queue",
                              labels=["component", "queue"]),
            GaugeMetricFamily("cadena_dead_letters", "Messages waiting in the dead-letter queue",
                              labels=["component", "queue"]),
        )

    def describe(self):
        # Lets a registry check the names without touching the broker.
        return list(self._families())

    def collect(self):
        lag, consumers, dead = self._families()
        depths = self.read()
        for name in self.queues:
            if name in depths:
                lag.add_metric([self.component, name], depths[name].ready)
                consumers.add_metric([self.component, name], depths[name].consumers)
            dlq = f"{name}.dlq"
            if dlq in depths:
                dead.add_metric([self.component, dlq], depths[dlq].ready)
        return [lag, consumers, dead]


def register_consumer_lag(worker, registry=REGISTRY, **options) -> ConsumerLagCollector | None:
    """Put the worker's queue depths on its metrics endpoint (a worker
    without handlers consumes nothing and gets nothing)."""
    if not worker.handlers:
        return None
    collector = ConsumerLagCollector(worker.settings.amqp_url, worker.settings.component,
                                     [worker.queue.name], **options)
    registry.register(collector)
    return collector
