"""The gateway's public signing keys, as a service holds them.

Fetched when the process starts (retrying until the gateway answers; the
process is not ready until then) and refreshed in the background, so a
request never waits on a fetch while a key it knows matches. Only a token
signed with a key id the process has never seen (a new key) triggers a
fetch in the request, at most once every few seconds.
"""
from __future__ import annotations

import atexit
import json
import threading
import time
import urllib.request
import weakref

import jwt

from shared.http import Problem, Unauthorized
from shared.observability import get_logger

log = get_logger("cadena.keys")

_RUNNING: "weakref.WeakSet[RemoteKeys]" = weakref.WeakSet()


@atexit.register
def stop_all() -> None:
    """At exit, stop every refresh thread and let a fetch in flight end (up
    to its timeout) before the interpreter tears down what it uses."""
    running = list(_RUNNING)
    for keys in running:
        keys.stop()
    for keys in running:
        if keys._thread is not None:
            keys._thread.join(keys.timeout + 0.5)


class RemoteKeys:
    def __init__(self, jwks_url: str, *, refresh_every: float = 300.0, timeout: float = 3.0,
                 min_fetch_gap: float = 2.0):
        self.jwks_url = jwks_url
        self.refresh_every = refresh_every
        self.timeout = timeout
        self.min_fetch_gap = min_fetch_gap
        self._keys: dict[str, object] = {}
        self._lock = threading.Lock()
        self._last_attempt = 0.0
        self._started = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return bool(self._keys)

    def start(self) -> "RemoteKeys":
        """Fetch in the background now and every ``refresh_every`` seconds."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        self._thread = threading.Thread(target=self._keep_fresh, name="jwks-refresh", daemon=True)
        _RUNNING.add(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _keep_fresh(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                fetched = self.fetch()
            except Exception:  # only its log line can fail: a stream closed while the process ends
                fetched = False
            if fetched:
                backoff = 0.2
                self._stop.wait(self.refresh_every)
            else:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def fetch(self) -> bool:
        self._last_attempt = time.monotonic()
        try:
            with urllib.request.urlopen(self.jwks_url, timeout=self.timeout) as resp:
                document = json.loads(resp.read())
            keys = {k.key_id: k.key for k in jwt.PyJWKSet.from_dict(document).keys}
        except Exception as exc:  # the gateway is starting, busy or away: keep what we have
            log.info("jwks_fetch_failed", url=self.jwks_url, error=type(exc).__name__)
            return False
        with self._lock:
            self._keys = keys
        return True

    def key_for(self, token: str):
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise Unauthorized("The bearer token is malformed.") from None
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._last_attempt > self.min_fetch_gap:
            self.fetch()  # a key we have not seen: the gateway may have added one
            key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._keys:
            raise Problem("Cannot verify tokens yet: the gateway's keys have not been fetched. Retry shortly.",
                          status=503, title="Service unavailable", slug="keys-unavailable",
                          headers={"Retry-After": "1"})
        raise Unauthorized("The token was not signed by a known key.")
