"""Calls over a urllib3 pool of kept-alive connections.

A server closes a kept-alive connection once it has been idle for a while
(gunicorn after 2 s); a request sent on it at that very moment meets a
closed connection before any answer. A safe method (it changes nothing) is
then sent once more, on a new connection. A timeout is not retried, and a
method that may have changed something is never sent twice.
"""
from __future__ import annotations

import urllib3

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def send(pool: urllib3.PoolManager, method: str, url: str, **kwargs) -> urllib3.BaseHTTPResponse:
    """``pool.request(method, url, **kwargs)`` (with retries off), a safe
    method sent again once when its connection was dropped before the answer."""
    again = method in SAFE_METHODS
    while True:
        try:
            return pool.request(method, url, **kwargs)
        except urllib3.exceptions.ProtocolError:
            if not again:
                raise
            again = False
