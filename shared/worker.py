"""A service's worker process: the outbox relay, its event consumers and
its scheduled jobs, each on its own thread with its own broker connection."""
from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping

from shared import inbox, tracing
from shared.bus import Consumer, QueueSpec
from shared.config import Settings
from shared.contracts import catalogue
from shared.db import Database
from shared.observability import configure_logging, get_logger
from shared.outbox import Relay

log = get_logger("cadena.worker")


@dataclass
class Job:
    """Scheduled work, run every ``interval`` seconds; must be safe with several workers."""

    name: str
    interval: float
    run: Callable[[], object]


@dataclass
class Worker:
    settings: Settings
    db: Database
    handlers: Mapping[str, inbox.Handler] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    purpose: str = "events"
    stop: threading.Event = field(default_factory=threading.Event)
    # More threads of this process, (name, run): e.g. the gateway's webhook delivery.
    extra: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from shared.retention import purge

        inbox.check_handlers(self.settings.component, self.handlers, catalogue())

        settings = self.settings
        self.jobs = [*self.jobs, Job("retention", settings.retention_interval, lambda: purge(
            self.db, settings.outbox_retention_days, settings.inbox_retention_days))]

    @property
    def queue(self) -> QueueSpec:
        return QueueSpec(
            f"cadena.{self.settings.component}.{self.purpose}",
            tuple(sorted(self.handlers)),
            self.settings.consumer_delivery_limit,
        )

    def consumer(self) -> Consumer:
        return window_consumer(self.settings, self.db, self.queue, self.handlers, self.stop)

    def relay(self) -> Relay:
        return Relay(self.db, self.settings.amqp_url, batch=self.settings.relay_batch, stop=self.stop,
                     linger=self.settings.relay_linger)

    def _run_jobs(self) -> None:
        due = {job.name: 0.0 for job in self.jobs}
        import time

        while not self.stop.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if now >= due[job.name]:
                    try:
                        job.run()
                    except Exception as exc:  # log and try again next tick
                        log.warning("job_failed", job=job.name, error=repr(exc)[:300])
                    due[job.name] = now + job.interval
            self.stop.wait(min([j.interval for j in self.jobs] + [1.0]))

    def threads(self) -> list[threading.Thread]:
        targets: list[tuple[str, Callable]] = [("relay", self.relay().run)]
        if self.handlers:
            targets.append(("consumer", yielding(self.consumer().run, self.settings.consumer_nice)))
        if self.jobs:
            targets.append(("jobs", self._run_jobs))
        targets.extend(self.extra)
        return [threading.Thread(target=t, name=f"{self.settings.component}-{n}", daemon=True) for n, t in targets]

    def start(self) -> list[threading.Thread]:
        threads = self.threads()
        for thread in threads:
            thread.start()
        return threads

    def run_forever(self) -> None:
        configure_logging(self.settings.component)
        tracing.configure(self.settings)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        serve_metrics(self)
        threads = self.start()
        log.info("worker_started", component=self.settings.component, threads=[t.name for t in threads])
        while not self.stop.is_set():
            self.stop.wait(1.0)
        for thread in threads:
            thread.join(timeout=10)
        self.db.dispose()
        log.info("worker_stopped", component=self.settings.component)


def yielding(run: Callable[[], None], nice: int) -> Callable[[], None]:
    """``run`` on a thread whose CPU priority is ``nice`` lower than the
    process's (on Linux a thread has a nice value of its own). Consumers keep
    replicas, the timeline and search up to date: when the machine is full,
    requests and imports go first, and the consumers, a little behind, take
    larger windows, which cost less per event."""
    def target() -> None:
        if nice and sys.platform.startswith("linux"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + nice)
            except OSError as exc:
                log.warning("consumer_priority_unchanged", error=str(exc))
        run()

    return target


def window_consumer(settings: Settings, db: Database, queue: QueueSpec, handlers: Mapping[str, inbox.Handler],
                    stop: threading.Event, after: Callable[[], None] | None = None) -> Consumer:
    """A consumer of ``queue`` that hands each window of deliveries to the
    inbox (``inbox.handle_batch``), with the settings' prefetch and linger;
    ``after`` runs once a window is handled, before the broker is answered."""
    known = catalogue()

    def on_batch(deliveries: list[tuple[str, bytes]]) -> list[str]:
        outcomes = inbox.handle_batch(db, queue.name, handlers, deliveries, known)
        if after is not None:
            after()
        return inbox.requeue_after_outage(db, outcomes, stop)

    return Consumer(settings.amqp_url, queue, on_batch=on_batch, stop=stop, name=queue.name,
                    prefetch=settings.consumer_prefetch, linger=settings.consumer_linger)


def serve_metrics(worker) -> None:
    """/metrics (and any path, so /healthz too) on CADENA_METRICS_PORT, with the queue depths of
    ``worker`` (anything with settings, handlers and queue)."""
    from shared.config import metrics_port

    port = metrics_port()
    if not port:
        return
    from prometheus_client import start_http_server

    from shared.ops_metrics import register_consumer_lag

    register_consumer_lag(worker)  # cadena_consumer_lag, cadena_queue_consumers, cadena_dead_letters
    start_http_server(port)
