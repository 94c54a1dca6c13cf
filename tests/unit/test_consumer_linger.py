"""A consumer's linger: under a steady stream a window waits a little for more
deliveries; events that come one at a time never wait."""
from __future__ import annotations

import pytest

from shared import bus
from shared.bus import Consumer, Pace, QueueSpec


class Broker:
    """Stands in for the connection: each poll "delivers" the next group of
    deliveries (or nothing, having waited out the time limit)."""

    def __init__(self, consumer: Consumer, clock: list[float], groups: list[int]):
        self.consumer, self.clock, self.groups, self.polls = consumer, clock, list(groups), []

    def process_data_events(self, time_limit: float) -> None:
        self.polls.append(time_limit)
        if self.groups:
            self.clock[0] += 0.001
            self.consumer._window.extend(("delivery", b"") for _ in range(self.groups.pop(0)))
        else:
            self.clock[0] += time_limit


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(bus.time, "monotonic", lambda: now[0])
    return now


def consumer(clock, groups, *, linger=0.05, prefetch=10, load=1.0, first=1):
    it = Consumer("amqp://nowhere", QueueSpec("q", ("x.y.z",)), on_batch=lambda d: ["ack"] * len(d),
                  prefetch=prefetch, linger=linger)
    it._conn = Broker(it, clock, groups)
    it.pace.load = load
    it._window = [("delivery", b"")] * first
    return it


def test_an_event_that_comes_alone_is_handled_at_once(clock):
    it = consumer(clock, [3])
    it._linger()
    assert it._conn.polls == [] and len(it._window) == 1
    assert it.pace.load == 1.0  # a window of one keeps the consumer idle


def test_a_busy_consumer_gathers_deliveries_until_its_prefetch_is_full(clock):
    it = consumer(clock, [2, 3, 4, 5], load=3.0)
    it._linger()
    assert len(it._window) == 10  # 1 + 2 + 3 + 4: full, the fourth group is left to the broker
    assert len(it._conn.polls) == 3
    assert it.pace.load == pytest.approx(3.0 + Pace.WEIGHT * (10 - 3.0))


def test_a_busy_consumer_waits_no_longer_than_its_linger(clock):
    start = clock[0]
    it = consumer(clock, [1], load=2.0)
    it._linger()
    assert len(it._window) == 2
    assert clock[0] - start == pytest.approx(0.05)
    assert all(limit <= 0.05 for limit in it._conn.polls)


def test_windows_of_one_make_a_busy_consumer_idle_again(clock):
    it = consumer(clock, [], load=3.0)
    lingered = 0
    for _ in range(20):
        it._window = [("delivery", b"")]
        polls = len(it._conn.polls)
        it._linger()
        lingered += len(it._conn.polls) > polls
    assert it.pace.load < Pace.BUSY
    assert 0 < lingered < 20  # it stopped lingering once the stream thinned


def test_a_consumer_without_linger_or_of_single_messages_never_waits(clock):
    it = consumer(clock, [5], linger=0.0, load=5.0)
    it._linger()
    assert it._conn.polls == []
    single = Consumer("amqp://nowhere", QueueSpec("q", ("x.y.z",)), on_message=lambda k, b: "ack", linger=1.0)
    assert single.linger == 0.0
