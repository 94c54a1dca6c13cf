"""The webhook delivery worker: a consumer of its own queue,
``cadena.gateway.webhooks`` (every routing key), that owes each event to the
webhooks that want it, and a dispatcher that leases due deliveries and
hands them to a pool of sender threads.

It scales on its own: replicas compete for the queue's messages and, through
leases, for the deliveries. No endpoint slows the others: each attempt has a
timeout, and a worker sends to one webhook on at most
``CADENA_WEBHOOK_PER_ENDPOINT`` of its ``CADENA_WEBHOOK_THREADS`` threads.
Locally it runs as threads of the gateway's worker (`cadena up` stays
small); deployed, `cadena webhooks deliver` runs it as a process of its own.
"""
from __future__ import annotations

import random
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from shared import inbox
from shared.bus import Consumer, QueueSpec
from shared.config import Settings
from shared.contracts import catalogue
from shared.db import Database, utcnow
from shared.observability import configure_logging, get_logger

from gateway import delivery
from gateway.sender import Sender
from gateway.signing import headers as signed_headers
from gateway.ssrf import UrlGuard

log = get_logger("cadena.webhooks")

QUEUE = "cadena.gateway.webhooks"
POLL = 0.5  # seconds between looks for due retries when nothing wakes the dispatcher


class DeliveryWorker:
    def __init__(self, settings: Settings, db: Database, stop: threading.Event | None = None, *,
                 sender: Sender | None = None, rng: Callable[[], float] = random.random):
        self.settings = settings
        self.db = db
        self.stop = stop or threading.Event()
        self.sender = sender or Sender(UrlGuard.from_settings(settings), settings.webhook_timeout,
                                       settings.webhook_per_endpoint)
        self.schedule = delivery.Schedule.from_settings(settings)
        self.rng = rng
        self.wake = threading.Event()
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(settings.webhook_threads, thread_name_prefix="webhook-send")
        self.lease = settings.webhook_timeout + 60

    # -- owing events ------------------------------------------------------------------
    @property
    def queue(self) -> QueueSpec:
        return QueueSpec(QUEUE, ("#",), self.settings.consumer_delivery_limit)

    def consumer(self) -> Consumer:
        queue, known = self.queue, catalogue()
        handlers = {"#": delivery.fan_out}

        def on_batch(deliveries: list[tuple[str, bytes]]) -> list[str]:
            outcomes = inbox.handle_batch(self.db, queue.name, handlers, deliveries, known)
            self.wake.set()
            return inbox.requeue_after_outage(self.db, outcomes, self.stop)

        return Consumer(self.settings.amqp_url, queue, on_batch=on_batch, stop=self.stop, name=queue.name)

    # -- sending ----------------------------------------------------------------------------
    def dispatch_once(self) -> int:
        """Lease what is due and fits in the free threads; how many were started."""
        with self._lock:
            busy = {k: v for k, v in self._busy.items() if v}
            free = self.settings.webhook_threads - sum(busy.values())
        claimed = delivery.claim(self.db, slots=free, busy=busy, per_endpoint=self.settings.webhook_per_endpoint,
                                 lease=self.lease)
        for delivery_id, webhook_id in claimed:
            with self._lock:
                self._busy[webhook_id] = self._busy.get(webhook_id, 0) + 1
            self._pool.submit(self._deliver, delivery_id, webhook_id)
        return len(claimed)

    def _deliver(self, delivery_id: int, webhook_id: str) -> None:
        try:
            self.attempt(delivery_id)
        except Exception as exc:  # the lease runs out and it is tried again
            log.warning("webhook_delivery_error", delivery_id=delivery_id, error=repr(exc)[:300])
        finally:
            with self._lock:
                self._busy[webhook_id] -= 1
            self.wake.set()

    def attempt(self, delivery_id: int) -> delivery.Outcome | None:
        """One try at a leased delivery: sign, POST, settle."""
        prepared = delivery.prepare(self.db, delivery_id, utcnow())
        if prepared is None:
            return None
        body = prepared.body
        outcome = self.sender.post(prepared.url, body.encode(),
                                   signed_headers(prepared.secrets, prepared.event_id, body, utcnow()))
        delivery.settle(self.db, prepared, outcome, self.schedule, rng=self.rng)
        if not outcome.ok:
            log.info("webhook_attempt_failed", webhook_id=prepared.webhook_id, event_id=prepared.event_id,
                     outcome=outcome.describe())
        return outcome

    def run_dispatcher(self) -> None:
        backoff = POLL
        while not self.stop.is_set():
            try:
                started = self.dispatch_once()
                backoff = POLL
            except Exception as exc:  # the database is away: wait, then look again
                log.warning("webhook_dispatch_failed", error=repr(exc)[:300], retry_in=backoff)
                started, backoff = 0, min(backoff * 2, 15.0)
            if not started:
                self.wake.wait(backoff)
                self.wake.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.sender.close()

    # -- as threads of a worker, or a process of its own -----------------------------------------
    def targets(self) -> list[tuple[str, Callable[[], None]]]:
        return [("webhook-consumer", self.consumer().run), ("webhook-dispatcher", self.run_dispatcher)]

    def run_forever(self) -> None:
        configure_logging(self.settings.component)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        threads = [threading.Thread(target=run, name=name, daemon=True) for name, run in self.targets()]
        for thread in threads:
            thread.start()
        log.info("webhook_worker_started", threads=self.settings.webhook_threads)
        while not self.stop.is_set():
            self.stop.wait(1.0)
        self.wake.set()
        for thread in threads:
            thread.join(timeout=15)
        self.db.dispose()
        log.info("webhook_worker_stopped")
