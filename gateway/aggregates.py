"""The customer 360: every service asked in parallel, one deadline for all,
and what did not arrive in time named instead of failing the whole answer.

A service with several parts is asked once, through its
`GET /internal/v1/parts` (shared/parts.py): one round trip and one read
session for its lists instead of one each."""
from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from shared.http import Merged, NotFound

from gateway.clients import Reply, ServiceClient, ServiceUnavailable
from shared.parts import PATH as PARTS_PATH


def slices(account_id: str, now: str) -> dict[str, dict[str, str]]:
    """service → {part: path}; every part of a service must arrive for it to count as available."""
    a, now = quote(account_id), quote(now)
    return {
        "accounts": {"account": f"/api/v1/accounts/{a}", "view": f"/api/v1/accounts/{a}/view",
                     "contacts": f"/api/v1/accounts/{a}/contacts?limit=200"},
        "opportunities": {"open": f"/api/v1/opportunities?account_id={a}&status=open&limit=200",
                          "won": f"/api/v1/opportunities?account_id={a}&status=won&limit=200"},
        "activities": {"upcoming": f"/api/v1/activities?account_id={a}&status=planned&from={now}&sort=time&limit=10",
                       "recent": f"/api/v1/activities?account_id={a}&to={now}&sort=-time&limit=10"},
        "support": {"open": f"/api/v1/cases?account_id={a}&status=new,open,pending&limit=200",
                    "recent": f"/api/v1/cases?account_id={a}&status=resolved,closed&limit=200"},
        "campaigns": {"campaigns": f"/api/v1/campaigns?account_id={a}&limit=50"},
    }


def call_path(parts: dict[str, str]) -> str:
    """The one request a service is asked its parts with: a lone part as it is, several through its parts call."""
    return next(iter(parts.values())) if len(parts) == 1 else f"{PARTS_PATH}?{urlencode(parts)}"


@dataclass
class Part:
    """One part of a parts call, read as a reply is."""

    status: int
    body: object

    def json(self):
        return self.body


class Customer360:
    def __init__(self, clients: dict[str, ServiceClient], deadline: float, pool: ThreadPoolExecutor):
        self.clients = clients
        self.deadline = deadline
        self.pool = pool

    def _call(self, service: str, parts: dict[str, str], headers: dict, budget: float) -> dict[str, Reply | Part]:
        """{part: reply} of one service, in one call; any part's 5xx makes the service unavailable."""
        reply = self.clients[service].request("GET", call_path(parts), headers=headers, timeout=budget)
        if len(parts) == 1:
            replies = dict.fromkeys(parts, reply)
        elif reply.status != 200:
            raise ServiceUnavailable(service, f"HTTP {reply.status}")
        else:
            answers = reply.json()
            replies = {part: Part(answers[part]["status"], answers[part]["body"]) for part in parts}
        for reply in replies.values():
            if reply.status >= 500:
                raise ServiceUnavailable(service, f"HTTP {reply.status}")
        return replies

    def build(self, account_id: str, headers: dict) -> dict:
        started = time.monotonic()
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        plan = {s: parts for s, parts in slices(account_id, now).items() if s in self.clients}
        # Each call runs in the request's context (its trace), copied per thread.
        futures = {service: self.pool.submit(contextvars.copy_context().run, self._call, service, parts, headers,
                                             self.deadline)
                   for service, parts in plan.items()}
        wait(futures.values(), timeout=max(0.0, self.deadline - (time.monotonic() - started)))
        got: dict[str, dict] = {}
        unavailable = []
        for service, future in futures.items():
            if future.done() and future.exception() is None:
                got[service] = future.result()
            else:
                unavailable.append(service)
        account = got.get("accounts", {}).get("account")
        if account is not None and account.status == 404:
            raise NotFound.of("account", account_id)
        if account is not None and account.status == 308:  # merged: the survivor's 360 is the one
            raise Merged("account", account_id, (account.json() or {}).get("survivor_id"))
        return self._compose(got, sorted(unavailable))

    @staticmethod
    def _items(reply) -> list:
        if reply is None or reply.status != 200:
            return []
        body = reply.json()
        return body.get("items", []) if isinstance(body, dict) else []

    def _compose(self, got: dict, unavailable: list[str]) -> dict:
        accounts = got.get("accounts", {})
        opportunities, activities = got.get("opportunities", {}), got.get("activities", {})
        support, campaigns = got.get("support", {}), got.get("campaigns", {})

        def body(reply):
            return reply.json() if reply is not None and reply.status == 200 else None

        recent_cases = sorted(self._items(support.get("recent")), key=lambda c: c.get("updated_at") or "", reverse=True)
        return {
            "account": body(accounts.get("account")),
            "view": body(accounts.get("view")),
            "contacts": self._items(accounts.get("contacts")),
            "opportunities": {"open": self._items(opportunities.get("open")),
                              "won": self._items(opportunities.get("won"))},
            "activities": {"recent": self._items(activities.get("recent")),
                           "upcoming": self._items(activities.get("upcoming"))},
            "cases": {"open": self._items(support.get("open")), "recent": recent_cases[:10]},
            "campaigns": self._items(campaigns.get("campaigns")),
            "partial": bool(unavailable),
            "unavailable": unavailable,
        }
