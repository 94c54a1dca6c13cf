"""Tokens issued before a user's access changed are refused (CONTRACTS §7).

The gateway counts, per user, a *token generation* that goes up whenever the
user is deactivated or their role, team or manager changes; every token
carries the generation it was issued under (claim ``gen``). The
``identity.user.*`` events carry the new generation to every service's user
replica, and each request is checked against it here. A small per-process
cache (``ttl`` seconds, 1 by default) keeps the check to one primary-key
read per user per second.

A user the replica does not hold yet (created a moment ago) passes: the
gateway, which checks its own tables on every public request, has just
vouched for the token.
"""
from __future__ import annotations

import threading
import time
from typing import Protocol

from sqlalchemy import select

from shared.http import TokenRevoked

REVOKED_DETAIL = ("This token was issued before your access changed (deactivated, or a new role, team or "
                  "manager); log in again.")


class RevocationCheck(Protocol):
    def check(self, principal) -> None:
        """Raise TokenRevoked for a token that must no longer work."""


class TtlCache:
    """A tiny thread-safe cache of recent answers, bounded in size."""

    def __init__(self, ttl: float, max_size: int = 8192):
        self.ttl = ttl
        self.max_size = max_size
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key, load):
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and now - hit[1] < self.ttl:
            return hit[0]
        value = load(key)
        with self._lock:
            if len(self._items) >= self.max_size:
                self._items.clear()
            self._items[key] = (value, now)
        return value


class ReplicaRevocation:
    """A service's check, against its replica of the gateway's users."""

    def __init__(self, db, ttl: float = 1.0):
        self.db = db
        self.cache = TtlCache(ttl)

    def _load(self, user_id: str):
        users = self.db.tables.users
        with self.db.engine.connect() as conn:
            row = conn.execute(select(users.c.active, users.c.token_generation)
                               .where(users.c.id == user_id)).first()
        return None if row is None else (bool(row.active), int(row.token_generation or 0))

    def check(self, principal) -> None:
        if principal.kind != "user":
            return  # API clients are checked by the gateway, which owns them
        state = self.cache.get(principal.id, self._load)
        if state is None:
            return
        active, generation = state
        if not active or generation > principal.generation:
            raise TokenRevoked(REVOKED_DETAIL)


class NoRevocation:
    def check(self, principal) -> None:
        return None
