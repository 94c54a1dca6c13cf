"""Reading one record from another service, with the caller's token and a
short timeout: the read-through behind every replica miss (a record created
a moment ago whose event has not arrived yet)."""
from __future__ import annotations

import json

import urllib3

from shared import tracing
from shared.http import Problem
from shared.observability import current_request_id
from shared.pooled import send

_pool = urllib3.PoolManager(num_pools=8, maxsize=8, block=False, retries=False)


def owner_unavailable(service: str, what: str, reason: str, errors: dict | None = None):
    """The one answer when a record's owner cannot be asked whether it
    exists: not "it does not exist" (a 422 would be false), but 503 —
    nothing was changed, retry shortly."""
    return Problem(f"The {service} service could not confirm {what} ({reason}); nothing was changed. "
                   "Retry in a moment.", status=503, title="Service unavailable", slug="owner-unavailable",
                   errors=errors, extra={"service": service}, headers={"Retry-After": "5"})


class PeerUnavailable(Exception):
    """The other service could not say whether the record exists."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def fetch_record(url: str, token: str | None, *, timeout: float, connect_timeout: float = 1.0,
                 missing: tuple[int, ...] = (404,)) -> dict | None:
    """GET a JSON object: None when the service answers one of ``missing`` (or
    308, a record merged into another);
    PeerUnavailable when it cannot be asked, fails, or answers something else."""
    if not token:
        raise PeerUnavailable("no caller token to forward")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if current_request_id():
        headers["X-Request-ID"] = current_request_id()
    tracing.inject(headers)
    try:
        resp = send(_pool, "GET", url, headers=headers, redirect=False,
                    timeout=urllib3.Timeout(connect=min(connect_timeout, timeout), read=timeout))
    except urllib3.exceptions.HTTPError as exc:
        raise PeerUnavailable(f"unreachable ({type(exc).__name__})") from None
    if resp.status in missing or resp.status == 308:
        return None  # 308: merged into another record, so not a live record of its own
    if resp.status != 200:
        raise PeerUnavailable(f"answered {resp.status}")
    try:
        data = json.loads(resp.data)
    except ValueError:
        raise PeerUnavailable("answered something that is not JSON") from None
    if not isinstance(data, dict):
        raise PeerUnavailable("answered something that is not a record")
    return data
