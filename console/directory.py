"""Names for the ids the API returns (owners, accounts), kept for a minute.

Everyone may read users and accounts (CONTRACTS §3), so one process-wide copy
serves every user; a minute old is fresh enough for a name on a card.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from console.api import ApiError

TTL = 60.0
MAX_PAGES = 5  # 1,000 records: past that a page shows ids it cannot name rather than wait


class Directory:
    def __init__(self, ttl: float = TTL, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self.lock = threading.Lock()
        self.users: dict[str, dict] = {}
        self.users_at = -ttl
        self.accounts: dict[str, dict] = {}
        self.accounts_at: dict[str, float] = {}

    def _stale(self, at: float) -> bool:
        return self.clock() - at > self.ttl

    def all_users(self, api) -> list[dict]:
        with self.lock:
            if self._stale(self.users_at):
                self.users = {u["id"]: u for u in _pages(api, "/users")}
                self.users_at = self.clock()
            return sorted(self.users.values(), key=lambda u: (u.get("name") or "").lower())

    def forget_users(self) -> None:
        """After a change to a user: the next page reads them again."""
        with self.lock:
            self.users_at = -self.ttl

    def user_name(self, api, user_id: str | None) -> str:
        if not user_id:
            return "—"
        self.all_users(api)
        user = self.users.get(user_id)
        return (user.get("name") or user.get("email")) if user else user_id[:8]

    def team_of(self, api, team: str, member: str | None = None) -> set[str]:
        """The team's users. A ``member`` the remembered list does not know
        (a user created a moment ago) makes it read the users again."""
        members = {u["id"] for u in self.all_users(api) if u.get("team") == team}
        if member is not None and member not in self.users:
            self.forget_users()
            members = {u["id"] for u in self.all_users(api) if u.get("team") == team}
        return members

    def teams(self, api) -> list[str]:
        return sorted({u["team"] for u in self.all_users(api) if u.get("team")})

    def account_names(self, api, ids) -> dict[str, str]:
        """Names of these accounts: from memory, else one list call per 200
        when many are missing, else one call each."""
        wanted = {i for i in ids if i}
        with self.lock:
            missing = {i for i in wanted if i not in self.accounts or self._stale(self.accounts_at[i])}
            if len(missing) > 3:
                self._remember(_pages(api, "/accounts"))
                missing = {i for i in missing if i not in self.accounts}
            for account_id in sorted(missing)[:20]:
                try:
                    self._remember([api.get(f"/accounts/{account_id}")])
                except ApiError:  # deleted, or not readable: the page shows no name
                    pass
            return {i: self.accounts[i]["name"] for i in wanted if i in self.accounts}

    def _remember(self, accounts) -> None:
        now = self.clock()
        for account in accounts:
            self.accounts[account["id"]] = account
            self.accounts_at[account["id"]] = now


def _pages(api, path: str, **query) -> list[dict]:
    return rest_of(api, path, api.get(path, limit=200, **query), **query)


def rest_of(api, path: str, first: dict, **query) -> list[dict]:
    """The items of a first page (limit 200, e.g. read with get_many) and of
    the pages after it, up to MAX_PAGES in all."""
    items, cursor = list(first["items"]), first.get("next_cursor")
    for _ in range(MAX_PAGES - 1):
        if not cursor:
            break
        page = api.get(path, limit=200, cursor=cursor, **query)
        items.extend(page["items"])
        cursor = page.get("next_cursor")
    return items


def all_pages(api, path: str, **query) -> list[dict]:
    return _pages(api, path, **query)
