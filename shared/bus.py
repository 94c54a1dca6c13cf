"""RabbitMQ: topology, a publisher with windowed confirms, and a consumer.

pika is not thread-safe: every thread that talks to the broker owns its own
connection, created after gunicorn forks (workers only; web code never
touches pika).
"""
from __future__ import annotations

import collections
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import pika
from pika import spec
from pika.adapters import select_connection
from pika.exceptions import AMQPError

from shared.events import CONTENT_TYPE, DLX, EXCHANGE
from shared.observability import get_logger

log = get_logger("cadena.bus")


class BrokerUnavailable(ConnectionError):
    pass


def node_urls(url: str) -> list[str]:
    """CADENA_AMQP_URL may list several nodes of a cluster, comma-separated."""
    return [part.strip() for part in url.split(",") if part.strip()]


def _one(url: str, heartbeat: int, timeout: float) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.blocked_connection_timeout = 60
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.connection_attempts = 1
    return params


_next_node = itertools.count()


def parameters(url: str, *, heartbeat: int = 30, timeout: float = 5.0) -> list[pika.URLParameters]:
    """Connection parameters for every node of ``url``, starting with a
    different node each time, so reconnections spread over a cluster and a
    lost node is skipped (pika's connections try them in order)."""
    nodes = [_one(u, heartbeat, timeout) for u in node_urls(url)]
    start = next(_next_node) % len(nodes)
    return nodes[start:] + nodes[:start]


def describe(url: str) -> str:
    return ", ".join(f"{p.host}:{p.port}" for p in (pika.URLParameters(u) for u in node_urls(url)))


def check_broker(url: str, timeout: float = 3.0) -> None:
    """Open and close a connection; raise BrokerUnavailable with a clear reason."""
    try:
        conn = pika.BlockingConnection(parameters(url, timeout=timeout))
    except AMQPError as exc:
        raise BrokerUnavailable(f"RabbitMQ at {describe(url)} is unreachable ({type(exc).__name__})") from None
    except OSError as exc:
        raise BrokerUnavailable(f"RabbitMQ at {describe(url)} is unreachable ({exc})") from None
    conn.close()


@dataclass(frozen=True)
class QueueSpec:
    """A service's queue: its bindings and how failures dead-letter."""

    name: str
    bindings: tuple[str, ...]
    delivery_limit: int = 5

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"


def declare_exchanges(channel) -> None:
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DLX, exchange_type="direct", durable=True)


def declare_queue(channel, queue: QueueSpec) -> None:
    """A quorum queue with an explicit delivery limit and dead-letter
    exchange (RabbitMQ 3.x has no default limit; 4.x drops past 20 without a DLX)."""
    declare_exchanges(channel)
    channel.queue_declare(queue.dlq, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(queue.dlq, DLX, routing_key=queue.name)
    channel.queue_declare(
        queue.name,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": queue.delivery_limit,
            "x-dead-letter-exchange": DLX,
            "x-dead-letter-routing-key": queue.name,
        },
    )
    for key in queue.bindings:
        channel.queue_bind(queue.name, EXCHANGE, routing_key=key)


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: '*' is one word, '#' zero or more."""
    p, k = pattern.split("."), key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(k)
        if p[i] == "#":
            return any(match(i + 1, jj) for jj in range(j, len(k) + 1))
        return j < len(k) and (p[i] == "*" or p[i] == k[j]) and match(i + 1, j + 1)

    return match(0, 0)


class Pace:
    """Whether work comes several items at a time: a moving average of how
    many items each pass (a consumer's window, a relay's batch) found. Busy,
    a pass may wait a little for more so its fixed cost is shared; idle,
    each item is handled as it comes."""

    BUSY, WEIGHT = 1.25, 0.2  # the mean from which it is busy; the newest pass's weight

    def __init__(self) -> None:
        self.load = 1.0

    def note(self, items: int) -> None:
        self.load += self.WEIGHT * (items - self.load)

    @property
    def busy(self) -> bool:
        return self.load >= self.BUSY


class ConfirmingPublisher:
    """Publishes a batch, then waits for the broker's confirms of the whole
    batch (a window of messages in flight, not one round trip per message).

    Drives pika's SelectConnection I/O loop synchronously, the way
    BlockingConnection does internally, so the caller reads like plain code.
    """

    def __init__(self, url: str, *, exchange: str = EXCHANGE, timeout: float = 10.0):
        self.exchange = exchange
        self.timeout = timeout
        self._channel = None
        self._ready = False
        self._error: str | None = None
        self._next_tag = 1
        # Per delivery tag sent: None until the broker answers, then whether it confirmed.
        self._outcome: dict[int, bool | None] = {}
        self._unanswered: collections.deque[int] = collections.deque()
        self._ioloop = select_connection.IOLoop()
        self._ioloop.activate_poller()
        self._conn = pika.SelectConnection(
            parameters(url, timeout=timeout)[0],  # one node per attempt; the relay's retry moves to the next
            custom_ioloop=self._ioloop,
            on_open_callback=self._on_open,
            on_open_error_callback=lambda _c, exc: self._fail(f"cannot connect: {exc!r}"),
            on_close_callback=lambda _c, exc: self._fail(f"connection closed: {exc!r}"),
        )
        self._pump(lambda: self._ready, self.timeout)

    # -- callbacks ---------------------------------------------------------
    def _fail(self, reason: str) -> None:
        self._error = self._error or reason

    def _on_open(self, conn) -> None:
        conn.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(lambda _ch, exc: self._fail(f"channel closed: {exc!r}"))
        channel.exchange_declare(
            self.exchange, exchange_type="topic", durable=True,
            callback=lambda _f: channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_mode),
        )

    def _on_confirm_mode(self, _frame) -> None:
        self._ready = True

    def _on_confirm(self, frame) -> None:
        method = frame.method
        ok = isinstance(method, spec.Basic.Ack)
        if method.multiple:  # every tag up to this one (tags only grow: the oldest unanswered come first)
            while self._unanswered and self._unanswered[0] <= method.delivery_tag:
                tag = self._unanswered.popleft()
                if self._outcome.get(tag, False) is None:
                    self._outcome[tag] = ok
        elif self._outcome.get(method.delivery_tag, False) is None:
            self._outcome[method.delivery_tag] = ok

    # -- driving the loop --------------------------------------------------
    def _pump(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if self._error:
                raise BrokerUnavailable(self._error)
            if time.monotonic() > deadline:
                raise BrokerUnavailable("timed out waiting for the broker")
            self._poll(0.05)

    def _poll(self, longest: float) -> None:
        """One turn of the I/O loop: send and receive what is ready, waiting up to ``longest`` s."""
        ioloop = self._ioloop
        wake = ioloop.call_later(longest, lambda: None)  # bounds the poll
        ioloop.poll()
        ioloop.process_timeouts()
        ioloop.remove_timeout(wake)

    def publish_batch(self, messages: Sequence[tuple[str, bytes, str]]) -> list[bool]:
        """Publish (routing_key, body, message_id) tuples; return, per message,
        whether the broker confirmed it. Raises BrokerUnavailable if the
        connection is lost before every confirm arrived."""
        return self.confirmed(self.send(messages))

    def send(self, messages: Sequence[tuple[str, bytes, str]]) -> list[int]:
        """Publish and hand the frames to the socket without waiting for the
        confirms (the caller does other work meanwhile); the delivery tags to
        give :meth:`confirmed`. Batches sent one after the other are
        delivered in that order."""
        if not self.usable:
            raise BrokerUnavailable(self._error or "the channel is closed")
        tags = []
        now = int(time.time())
        for routing_key, body, message_id in messages:
            try:
                self._channel.basic_publish(
                    self.exchange,
                    routing_key,
                    body,
                    pika.BasicProperties(
                        content_type=CONTENT_TYPE, delivery_mode=2, message_id=message_id,
                        type=routing_key, timestamp=now,
                    ),
                )
            except AMQPError as exc:  # the channel or connection died under us
                raise BrokerUnavailable(f"publishing failed: {exc!r}") from None
            self._outcome[self._next_tag] = None
            self._unanswered.append(self._next_tag)
            tags.append(self._next_tag)
            self._next_tag += 1
        self._poll(0.0)  # the socket takes what it can now; the rest goes out while we wait
        return tags

    def confirmed(self, tags: list[int]) -> list[bool]:
        """Wait for the broker's answer to each sent message (True: confirmed)."""
        if tags:
            last, outcome = tags[-1], self._outcome
            # Confirms come in order in practice: the last one first, then the rest is a formality.
            self._pump(lambda: outcome[last] is not None and all(outcome[t] is not None for t in tags), self.timeout)
        return [bool(self._outcome.pop(tag)) for tag in tags]

    def forget(self) -> None:
        """Drop what is still owed an answer (a pass that failed half-way will
        send its messages again); late confirms of them are ignored."""
        self._outcome.clear()
        self._unanswered.clear()

    @property
    def usable(self) -> bool:
        """False once the connection or channel is gone: make a new publisher."""
        return self._error is None and self._channel is not None and self._channel.is_open

    def close(self) -> None:
        try:
            if self._conn.is_open:
                self._conn.close()
                self._pump(lambda: self._conn.is_closed, 2)
        except Exception:
            pass
        finally:
            self._ioloop.close()


class Consumer:
    """Consumes one queue with manual acks; reconnects with backoff forever.

    ``on_message(routing_key, body) -> "ack" | "requeue" | "reject"`` runs the
    work and commits before we ack (never auto-ack). With ``on_batch``
    instead, each window of deliveries the broker has pushed (up to the
    prefetch) goes to it at once as ``[(routing_key, body), …]`` and it
    returns one answer per delivery; a window answered "ack" throughout is
    acknowledged with one ``multiple`` ack.

    ``linger`` (seconds, batches only): once deliveries keep coming several
    at a time, a window waits up to this long for more before it is handled,
    so a steady stream is handled in windows whose fixed cost (a transaction,
    a commit, an ack) is shared by many events. Events that come one at a
    time, each after the last was handled, never wait.
    """

    def __init__(self, url: str, queue: QueueSpec, on_message: Callable[[str, bytes], str] | None = None,
                 *, on_batch: Callable[[list[tuple[str, bytes]]], list[str]] | None = None,
                 prefetch: int = 50, stop: threading.Event | None = None, name: str = "consumer",
                 linger: float = 0.0):
        if (on_message is None) == (on_batch is None):
            raise TypeError("give exactly one of on_message and on_batch")
        self.url = url
        self.queue = queue
        self.on_message = on_message
        self.on_batch = on_batch
        self.prefetch = prefetch
        self.stop = stop or threading.Event()
        self.name = name
        self._conn = None
        self._window: list = []
        self.linger = linger if on_batch else 0.0
        self.pace = Pace()
        self.connected = threading.Event()

    @staticmethod
    def _answer(channel, delivery_tag: int, outcome: str) -> None:
        if outcome == "ack":
            channel.basic_ack(delivery_tag)
        elif outcome == "requeue":
            channel.basic_nack(delivery_tag, requeue=True)
        else:
            channel.basic_nack(delivery_tag, requeue=False)  # → dead-letter queue

    def _deliver(self, channel, method, properties, body) -> None:
        self._answer(channel, method.delivery_tag, self.on_message(method.routing_key, body))

    def _collect(self, channel, method, properties, body) -> None:
        self._window.append((method, body))

    def _linger(self) -> None:
        """While the stream is steady, gather more deliveries for this window
        (up to ``linger`` seconds, or until the prefetch is full); then note
        the window's size in the moving average that says whether it is."""
        if self.linger > 0 and self.pace.busy:
            deadline = time.monotonic() + self.linger
            while len(self._window) < self.prefetch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._conn.process_data_events(time_limit=left)  # returns as soon as deliveries arrive
        self.pace.note(len(self._window))

    def _flush(self, channel) -> None:
        window, self._window = self._window, []
        outcomes = self.on_batch([(method.routing_key, body) for method, body in window])
        if all(outcome == "ack" for outcome in outcomes):
            # Every earlier delivery on this channel is answered already.
            channel.basic_ack(window[-1][0].delivery_tag, multiple=True)
            return
        for (method, _body), outcome in zip(window, outcomes):
            self._answer(channel, method.delivery_tag, outcome)

    def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                self._conn = pika.BlockingConnection(parameters(self.url))
                channel = self._conn.channel()
                declare_queue(channel, self.queue)
                channel.basic_qos(prefetch_count=self.prefetch)
                self._window = []  # deliveries of a lost channel come again
                channel.basic_consume(self.queue.name, self._collect if self.on_batch else self._deliver,
                                      auto_ack=False)
                self.connected.set()
                backoff = 0.5
                log.info("consumer_started", queue=self.queue.name)
                while not self.stop.is_set():
                    # Returns as soon as deliveries are ready, having dispatched all that arrived.
                    self._conn.process_data_events(time_limit=0.5)
                    if self._window:
                        self._linger()
                        self._flush(channel)
                self._conn.close()
            except (AMQPError, OSError) as exc:
                self.connected.clear()
                if self.stop.is_set():
                    break
                # str(exc) carries the broker's reason, e.g. a refused queue declaration.
                log.warning("consumer_disconnected", queue=self.queue.name, error=str(exc)[:300] or type(exc).__name__,
                            retry_in=backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 15)
        self.connected.clear()


def bind_queue(url: str, name: str, bindings: Iterable[str], delivery_limit: int = 5) -> QueueSpec:
    """Declare a queue the way a service would (used by outside consumers and tests)."""
    queue = QueueSpec(name, tuple(bindings), delivery_limit)
    conn = pika.BlockingConnection(parameters(url))
    try:
        declare_queue(conn.channel(), queue)
    finally:
        conn.close()
    return queue
