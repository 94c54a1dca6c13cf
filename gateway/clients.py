"""Pooled HTTP clients for the services, each call with a timeout."""
from __future__ import annotations

import json
from dataclasses import dataclass

import urllib3

from shared import config, tracing
from shared.pooled import send


@dataclass
class Reply:
    status: int
    headers: dict
    data: bytes

    def json(self):
        return json.loads(self.data) if self.data else None


class ServiceUnavailable(Exception):
    def __init__(self, service: str, reason: str):
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


class ServiceClient:
    """One pool of kept-alive connections per service; urllib3 costs a fraction
    of requests' CPU per call, and its connection pool for the one host a
    fraction of its PoolManager's (no URL to parse, no pool to look up)."""

    def __init__(self, name: str, base_url: str, timeout: float):
        self.name = name
        self.timeout = timeout
        self.base_url = base_url

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        """Where the service is (a new pool for a new address)."""
        self._base_url = url.rstrip("/")
        self.prefix = urllib3.util.parse_url(self._base_url).path or ""
        self.pool = urllib3.connection_from_url(self._base_url, maxsize=16, block=False, retries=False)

    def request(self, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
                timeout: float | None = None) -> Reply:
        t = timeout or self.timeout
        headers = tracing.inject(dict(headers or {}))  # the request's trace goes on to the service
        resp = self._send(method, path, headers=headers, body=body, t=t, preload_content=True)
        return Reply(resp.status, dict(resp.headers), resp.data)

    def _send(self, method: str, path: str, *, headers, body, t: float, preload_content: bool):
        try:
            return send(self.pool, method, self.prefix + path, headers=headers, body=body,
                        timeout=urllib3.Timeout(connect=min(1.0, t), read=t), redirect=False,
                        preload_content=preload_content)
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceUnavailable(self.name, type(exc).__name__) from None

    def stream(self, method: str, path: str, *, headers: dict | None = None, timeout: float | None = None):
        """The answer unread (urllib3's response): its body is passed on a chunk
        at a time, so an export of any size costs the gateway a buffer. Release
        it with ``release_conn()`` once read."""
        return self._send(method, path, headers=headers, body=None, t=timeout or self.timeout, preload_content=False)


def build_clients(timeout: float) -> dict[str, ServiceClient]:
    return {name: ServiceClient(name, config.service_url(name), timeout) for name in config.SERVICE_PORTS}
