"""The outbox relay: publishes committed events in commit order, marks them
sent only after the broker confirmed them, and never gives up."""
from __future__ import annotations

import json
import select as io_select
import threading
import zlib

from sqlalchemy import BigInteger, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from shared import tracing
from shared.bus import BrokerUnavailable, ConfirmingPublisher, Pace, describe
from shared.db import Database, notify_channel, utcnow
from shared.observability import EVENTS_PUBLISHED, get_logger

log = get_logger("cadena.outbox")


def _publish_spans(rows) -> list:
    """One ``publish`` span per event, a child of the trace the event carries
    (recording only: reading the trace from each body costs a JSON parse)."""
    spans = []
    for row in rows:
        try:
            parent = json.loads(bytes(row.body)).get(tracing.TRACEPARENT)
        except ValueError:
            parent = None
        spans.append(tracing.start_span(f"{row.routing_key} publish", kind="producer", parent=parent,
                                        attributes=tracing.messaging(row.routing_key, row.event_id, "send")))
    return spans


def _end_spans(spans: list, confirmed: list[bool]) -> None:
    from opentelemetry.trace import Status, StatusCode

    for span, ok in zip(spans, list(confirmed) + [False] * (len(spans) - len(confirmed))):
        if not ok:
            span.set_status(Status(StatusCode.ERROR, "not confirmed by the broker; sent again on the next pass"))
        span.end()


class Relay:
    def __init__(self, db: Database, amqp_url: str, *, batch: int = 500, idle_poll: float = 0.5,
                 stop: threading.Event | None = None, linger: float = 0.0):
        self.db = db
        self.amqp_url = amqp_url
        self.batch = batch
        self.idle_poll = idle_poll
        # Woken by a commit while commits keep coming several per pass, wait
        # this long (s) so the commits close behind it share the pass: one
        # transaction and one wait for confirms instead of one each.
        self.linger = linger
        self.pace = Pace()
        self.stop = stop or threading.Event()
        # One relay per service publishes at a time (a transaction-scoped
        # advisory lock), so events of one aggregate leave in commit order even
        # with several worker replicas; the others stand by.
        self._lock_key = zlib.crc32(f"cadena-relay-{db.component}".encode())
        self._listener = None

    # Batches one transaction publishes before it commits what it marked.
    PASS = 10

    def publish_pending(self, publisher: ConfirmingPublisher) -> int:
        """Publish what is pending, up to PASS batches in one transaction
        (a pipeline: while the broker confirms one batch, the next is read
        and sent); return how many events were confirmed and marked sent."""
        with self.db.engine.begin() as conn:
            if self.db.is_postgres:
                if not conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self._lock_key}):
                    return 0
            try:
                return self._pipeline(conn, publisher)
            except BaseException:
                publisher.forget()  # the pass rolls back: its rows go out again on the next one
                raise

    def _read(self, conn, after: int | None):
        outbox = self.db.tables.outbox
        query = select(outbox.c.id, outbox.c.event_id, outbox.c.routing_key, outbox.c.body).where(
            outbox.c.published_at.is_(None))
        if after is not None:
            query = query.where(outbox.c.id > after)
        query = query.order_by(outbox.c.id).limit(self.batch)
        if self.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        return conn.execute(query).all()

    def _pipeline(self, conn, publisher: ConfirmingPublisher) -> int:
        """Send a batch; while the broker takes it, read the next; once it is
        confirmed, send the next and only then mark the confirmed one sent."""
        rows, total, passes = self._read(conn, None), 0, 1
        tags, spans = self._send(publisher, rows)
        while rows:
            following = self._read(conn, rows[-1].id) if len(rows) == self.batch and passes < self.PASS else []
            confirmed = publisher.confirmed(tags)
            if spans:
                _end_spans(spans, confirmed)
            # Mark the confirmed prefix only: a nacked event and everything
            # after it are sent again (consumers are idempotent), so order holds.
            done = []
            for row, ok in zip(rows, confirmed):
                if not ok:
                    break
                done.append(row.id)
            nacked = len(done) < len(rows)
            tags, spans = self._send(publisher, [] if nacked else following)
            self._mark(conn, done)
            total += len(done)
            EVENTS_PUBLISHED.labels(self.db.component).inc(len(done))
            if nacked:
                log.warning("broker_nacked", component=self.db.component, confirmed=len(done), batch=len(rows))
                break
            rows, passes = following, passes + 1
        return total

    @staticmethod
    def _send(publisher: ConfirmingPublisher, rows) -> tuple[list[int], list | None]:
        if not rows:
            return [], None
        spans = _publish_spans(rows) if tracing.recording() else None
        return publisher.send([(r.routing_key, bytes(r.body), r.event_id) for r in rows]), spans

    def _mark(self, conn, done: list[int]) -> None:
        if not done:
            return
        outbox = self.db.tables.outbox
        if self.db.is_postgres:
            # One array parameter rather than an IN list of a thousand.
            ids = bindparam("ids", done, type_=ARRAY(BigInteger))
            conn.execute(update(outbox).where(outbox.c.id == any_(ids)).values(published_at=utcnow()))
        else:
            conn.execute(update(outbox).where(outbox.c.id.in_(done)).values(published_at=utcnow()))

    def drain(self, publisher: ConfirmingPublisher) -> int:
        total = 0
        while not self.stop.is_set():
            n = self.publish_pending(publisher)
            if not total:
                self.pace.note(n)
            total += n
            if n < self.batch * self.PASS:  # a whole pass stops at its end, with more (perhaps) to publish
                break
        return total

    def _wait_for_work(self) -> None:
        """Sleep until NOTIFY (Postgres) or the poll interval passes."""
        if self._listener is not None:
            try:
                ready, _, _ = io_select.select([self._listener.fileno()], [], [], self.idle_poll)
                if ready:
                    if self.linger > 0 and self.pace.busy:
                        self.stop.wait(self.linger)
                    self._listener.execute("SELECT 1")  # consume pending notifications
                    for _ in self._listener.notifies(timeout=0):
                        pass
                return
            except Exception:
                self._close_listener()
        self.stop.wait(self.idle_poll)

    def _open_listener(self) -> None:
        if not self.db.is_postgres or self._listener is not None:
            return
        try:
            import psycopg

            url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = psycopg.connect(url, autocommit=True)
            self._listener.execute(f"LISTEN {notify_channel(self.db.component)}")
        except Exception as exc:
            log.warning("listen_unavailable", error=str(exc))
            self._listener = None

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:
                pass
            self._listener = None

    def run(self) -> None:
        backoff = 0.5
        publisher = None
        while not self.stop.is_set():
            try:
                if publisher is None:
                    publisher = ConfirmingPublisher(self.amqp_url)
                    log.info("relay_connected", component=self.db.component, broker=describe(self.amqp_url))
                    backoff = 0.5
                self._open_listener()
                self.drain(publisher)
                self._wait_for_work()
            except BrokerUnavailable as exc:
                log.warning("relay_broker_unreachable", component=self.db.component, error=str(exc), retry_in=backoff)
                if publisher is not None:
                    publisher.close()
                publisher = None
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 15)
            except Exception as exc:  # database down, or anything else: wait and retry, never give up
                log.warning("relay_error", component=self.db.component, error=repr(exc)[:300], retry_in=backoff)
                if publisher is not None and not publisher.usable:  # never retry on a dead channel
                    publisher.close()
                    publisher = None
                self._close_listener()
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 15)
        if publisher is not None:
            publisher.close()
        self._close_listener()
