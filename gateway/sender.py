"""The HTTP side of a webhook delivery: one POST, bounded in time, to an
address checked just before connecting (the connection goes to that very
address, so a name cannot be re-resolved elsewhere between the check and
the request). Redirects are not followed. Connections are kept alive per
destination, so a busy endpoint costs no handshake per event."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

import urllib3
from urllib3.exceptions import HTTPError, TimeoutError as Urllib3Timeout

from gateway.delivery import Outcome
from gateway.ssrf import Refused, Target, UrlGuard

READ_AT_MOST = 64 * 1024  # of a response body; a longer one closes its connection
POOLS_KEPT = 256


class Sender:
    def __init__(self, guard: UrlGuard, timeout: float, connections: int = 4):
        self.guard = guard
        self.timeout = timeout
        self.connections = connections  # kept per destination: a worker's threads (webhooks may share a host)
        self._pools: OrderedDict[tuple, urllib3.HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            target = self.guard.check(url)
        except Refused as exc:
            return Outcome(None, f"refused: {exc}", took())
        pool = self._pool(target, target.addresses[0])
        try:
            response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": target.host_header},
                                    redirect=False, retries=False, preload_content=False,
                                    timeout=urllib3.Timeout(total=self.timeout))
        except Urllib3Timeout:
            return Outcome(None, f"timeout: no answer within {self.timeout:g} s", took())
        except HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {_reason(exc)}", took())
        try:
            if len(response.read(READ_AT_MOST, decode_content=False)) < READ_AT_MOST:
                response.release_conn()  # read to its end: the connection can serve the next delivery
            else:
                response.close()
        except (HTTPError, OSError):
            response.close()
        return Outcome(response.status, None, took())

    def _pool(self, target: Target, address: str) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, address, target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._new_pool(target, address)
                self._pools[key] = pool
                while len(self._pools) > POOLS_KEPT:
                    self._pools.popitem(last=False)[1].close()
            self._pools.move_to_end(key)
            return pool

    def _new_pool(self, target: Target, address: str) -> urllib3.HTTPConnectionPool:
        options = dict(port=target.port, maxsize=self.connections, retries=False,
                       timeout=urllib3.Timeout(total=self.timeout))
        if target.scheme == "https":
            # Connect to the checked address; TLS still names and verifies the host.
            return urllib3.HTTPSConnectionPool(address, server_hostname=target.host, assert_hostname=target.host,
                                               cert_reqs="CERT_REQUIRED", **options)
        return urllib3.HTTPConnectionPool(address, **options)

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


def _reason(exc: HTTPError) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason).splitlines()[0][:200]
