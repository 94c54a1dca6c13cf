"""Leased deliveries waiting for a sender thread, one lane per webhook. A
sender takes from the lanes in turn, and from a lane only while fewer than
``per_endpoint`` of its deliveries are being sent: a hung endpoint holds
that many threads at most, and what waits for it holds none."""
from __future__ import annotations

import threading
from collections import deque

from gateway.delivery import Prepared


class Lanes:
    def __init__(self, per_endpoint: int):
        self.per_endpoint = per_endpoint
        self._cond = threading.Condition()
        self._waiting: dict[str, deque[Prepared]] = {}
        self._sending: dict[str, int] = {}

    def put(self, prepared: Prepared) -> None:
        with self._cond:
            self._waiting.setdefault(prepared.webhook_id, deque()).append(prepared)
            self._cond.notify()

    def take(self, stop: threading.Event, wait: float = 0.5) -> Prepared | None:
        """The next delivery a sender may send (None once ``stop`` is set)."""
        with self._cond:
            while not stop.is_set():
                found = self._next()
                if found is not None:
                    return found
                self._cond.wait(wait)
        return None

    def _next(self) -> Prepared | None:
        for webhook_id, lane in self._waiting.items():
            if lane and self._sending.get(webhook_id, 0) < self.per_endpoint:
                self._sending[webhook_id] = self._sending.get(webhook_id, 0) + 1
                found = lane.popleft()
                del self._waiting[webhook_id]  # to the back of the turn
                if lane:
                    self._waiting[webhook_id] = lane
                return found
        return None

    def done(self, prepared: Prepared) -> None:
        with self._cond:
            left = self._sending.get(prepared.webhook_id, 1) - 1
            if left:
                self._sending[prepared.webhook_id] = left
            else:
                self._sending.pop(prepared.webhook_id, None)
            self._cond.notify_all()

    def held(self) -> dict[str, int]:
        """Per webhook, how many of its deliveries wait or are being sent here."""
        with self._cond:
            held = {w: len(lane) for w, lane in self._waiting.items()}
            for webhook_id, count in self._sending.items():
                held[webhook_id] = held.get(webhook_id, 0) + count
            return held

    def wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()
