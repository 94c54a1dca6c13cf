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

import queue
import random
import signal
import threading
import time
from typing import Callable

from shared import inbox
from shared.bus import Consumer, QueueSpec
from shared.config import Settings
from shared.db import Database, utcnow
from shared.observability import configure_logging, get_logger
from shared.worker import serve_metrics, window_consumer, yielding

from gateway import delivery
from gateway.lanes import Lanes
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
                                       settings.webhook_threads)
        self.schedule = delivery.Schedule.from_settings(settings)
        self.rng = rng
        self.wake = threading.Event()
        self.lanes = Lanes(settings.webhook_per_endpoint)
        self._done: queue.SimpleQueue = queue.SimpleQueue()  # (prepared, outcome, when) the senders finished
        # Leased ahead of the senders, a batch at a time: one transaction leases many, one settles many.
        self.prefetch = max(50, settings.webhook_threads * 8)
        self.per_webhook = settings.webhook_per_endpoint * 10  # leased for one webhook at most
        # Long enough for a delivery to wait its turn behind a hung endpoint's timeouts, then be sent.
        self.lease = settings.webhook_timeout * (self.per_webhook / settings.webhook_per_endpoint + 2) + 60
        self._claimed_at = 0.0
        self._owed = False  # whether the window being handled owed a delivery

    # -- owing events ------------------------------------------------------------------
    @property
    def queue(self) -> QueueSpec:
        return QueueSpec(QUEUE, ("#",), self.settings.consumer_delivery_limit)

    @property
    def handlers(self) -> dict[str, inbox.Handler]:
        """Every event is owed to the webhooks that want it; the dispatcher
        is woken only when a window owed something (else it looks every POLL)."""
        def owe_many(events: list[dict], uow) -> None:
            if delivery.fan_out_many(events, uow):
                self._owed = True

        @inbox.in_runs(owe_many)
        def owe(event: dict, uow) -> None:
            owe_many([event], uow)

        return {"#": owe}

    def consumer(self) -> Consumer:
        return window_consumer(self.settings, self.db, self.queue, self.handlers, self.stop, after=self._wake_if_owed)

    def _wake_if_owed(self) -> None:
        """After a window: wake the dispatcher if it owed a delivery (a window
        rolled back after owing wakes it for nothing: harmless)."""
        if self._owed:
            self._owed = False
            self.wake.set()

    # -- sending ----------------------------------------------------------------------------
    def dispatch_once(self) -> int:
        """Settle what the senders finished, then lease what is due while the
        lanes run low (or a while has passed); how much happened (0: nothing
        to do until something wakes us)."""
        settled = self._settle_finished()
        held = self.lanes.held()
        free = self.prefetch - sum(held.values())
        claimed: list[delivery.Prepared] = []
        if free >= self.prefetch // 4 or time.monotonic() - self._claimed_at > POLL:
            self._claimed_at = time.monotonic()
            claimed = delivery.claim(self.db, slots=free, busy=held, per_endpoint=self.per_webhook, lease=self.lease)
            for prepared in claimed:
                self.lanes.put(prepared)
        return settled + len(claimed)

    def run_sender(self) -> None:
        while not self.stop.is_set():
            prepared = self.lanes.take(self.stop)
            if prepared is None:
                return
            try:
                outcome = self.post(prepared)
            except Exception as exc:  # a bug, not the endpoint's doing: recorded like any failure
                outcome = delivery.Outcome(None, f"error: {exc!r}", 0)
            self._done.put((prepared, outcome, utcnow()))
            self.lanes.done(prepared)
            self.wake.set()

    def post(self, prepared: delivery.Prepared) -> delivery.Outcome:
        """Sign and POST one delivery (no bookkeeping)."""
        if prepared.body is None:
            return delivery.Outcome(None, "the event is no longer in the event history", 0)
        headers = signed_headers(prepared.secrets, prepared.event_id, prepared.body, utcnow())
        return self.sender.post(prepared.url, prepared.body.encode(), headers)

    def _settle_finished(self) -> int:
        """Record every finished attempt in one transaction (a busy worker
        settles many at once). If that fails, the leases run out and the
        deliveries are sent again: at least once."""
        results = []
        while not self._done.empty():
            results.append(self._done.get_nowait())
        if not results:
            return 0
        try:
            delivery.settle_many(self.db, results, self.schedule, self.rng)
        except Exception as exc:
            log.warning("webhook_settle_failed", deliveries=len(results), error=repr(exc)[:300])
        for prepared, outcome, _at in results:
            if not outcome.ok:
                log.info("webhook_attempt_failed", webhook_id=prepared.webhook_id, event_id=prepared.event_id,
                         outcome=outcome.describe())
        return len(results)

    def attempt(self, prepared: delivery.Prepared) -> delivery.Outcome:
        """One leased delivery, sent and settled now (tools and tests)."""
        outcome = self.post(prepared)
        delivery.settle(self.db, prepared, outcome, self.schedule, rng=self.rng)
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
        self.lanes.wake_all()
        self._settle_finished()
        self.sender.close()

    # -- as threads of a worker, or a process of its own -----------------------------------------
    def sending(self) -> list[tuple[str, Callable[[], None]]]:
        """The dispatcher and the sender threads (what sends what is owed)."""
        senders = [(f"webhook-sender-{n}", self.run_sender) for n in range(self.settings.webhook_threads)]
        return [("webhook-dispatcher", self.run_dispatcher), *senders]

    def targets(self) -> list[tuple[str, Callable[[], None]]]:
        return [("webhook-consumer", yielding(self.consumer().run, self.settings.consumer_nice)), *self.sending()]

    def run_forever(self) -> None:
        configure_logging(self.settings.component)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        serve_metrics(self)  # /healthz and /metrics for the probes, as every worker has
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
