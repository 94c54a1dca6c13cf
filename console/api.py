"""The console's only way to data: the public API, over HTTP or in-process.

In-process (mounted inside the gateway) the request still runs the gateway's
whole WSGI stack (auth, validation, problem+json), it only skips the socket:
a console page served by one of the gateway's few threads would otherwise
wait for another of them to answer its API calls, and a handful of
concurrent pages could hold every thread while their API calls queue.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import urllib3
from werkzeug.test import EnvironBuilder, run_wsgi_app

from console.api_messages import say, say_all
from shared.pooled import send


@dataclass
class Reply:
    status: int
    headers: dict
    data: Any = None

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag") or self.headers.get("etag")


@dataclass
class ApiError(Exception):
    """A 4xx/5xx answer; ``problem`` is its problem+json body."""

    status: int
    problem: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.problem.get('detail') or self.problem.get('title') or ''}"

    @property
    def errors(self) -> dict[str, list[str]]:
        """The refused fields and why, in the user's language where the console knows the message."""
        return say_all(self.problem.get("errors") or {})

    @property
    def detail(self) -> str:
        """What went wrong, in the user's language where the console knows the sentence."""
        return say(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def slug(self) -> str:
        return (self.problem.get("type") or "").rsplit("/", 1)[-1]


class Unavailable(ApiError):
    """The API did not answer (or answered a 5xx)."""


class Moved(ApiError):
    """A 3xx: the record was merged into another (``survivor_id``)."""

    @property
    def merged_id(self) -> str:
        return str(self.problem.get("merged_id") or "")

    @property
    def survivor_id(self) -> str:
        return str(self.problem.get("survivor_id") or "")


def _query_string(query: dict | None) -> str:
    pairs = [(k, v) for k, v in (query or {}).items() if v not in (None, "")]
    return urlencode(pairs, doseq=True)


def _decode(status: int, headers: dict, body: bytes) -> Reply:
    data = None
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            data = {"detail": body[:200].decode(errors="replace")}
    if status >= 500:
        raise Unavailable(status, data if isinstance(data, dict) else {})
    if status >= 400:
        raise ApiError(status, data if isinstance(data, dict) else {})
    if status >= 300:
        raise Moved(status, data if isinstance(data, dict) else {})
    return Reply(status, headers, data)


@dataclass
class Download:
    """An answer whose body is passed on as it arrives (CSV exports)."""

    status: int
    headers: dict
    chunks: Iterator[bytes]
    close: Callable[[], None]


class HttpTransport:
    """The API at a URL, over a pooled connection with a timeout."""

    def __init__(self, base_url: str, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.pool = urllib3.PoolManager(maxsize=8, timeout=urllib3.Timeout(total=timeout), retries=False)

    def __call__(self, method: str, path: str, query: str, body: bytes | None, headers: dict):
        url = self.base_url + path + (f"?{query}" if query else "")
        try:
            resp = send(self.pool, method, url, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise Unavailable(503, {"detail": type(exc).__name__}) from None
        return resp.status, dict(resp.headers), resp.data

    def stream(self, path: str, query: str, headers: dict) -> Download:
        url = self.base_url + path + (f"?{query}" if query else "")
        try:
            resp = send(self.pool, "GET", url, headers=headers, preload_content=False,
                        timeout=urllib3.Timeout(connect=self.timeout, read=60))
        except urllib3.exceptions.HTTPError as exc:
            raise Unavailable(503, {"detail": type(exc).__name__}) from None
        return Download(resp.status, dict(resp.headers), resp.stream(64 * 1024), resp.release_conn)


class WsgiTransport:
    """The API of a WSGI app in this very process."""

    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, method: str, path: str, query: str, body: bytes | None, headers: dict):
        builder = EnvironBuilder(path=path, query_string=query, method=method, data=body, headers=headers,
                                 environ_base={"REMOTE_ADDR": headers.pop("X-Forwarded-For", "127.0.0.1")})
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, resp_headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            payload = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        return int(status.split(" ", 1)[0]), dict(resp_headers), payload

    def stream(self, path: str, query: str, headers: dict) -> Download:
        builder = EnvironBuilder(path=path, query_string=query, method="GET", headers=headers,
                                 environ_base={"REMOTE_ADDR": headers.pop("X-Forwarded-For", "127.0.0.1")})
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, resp_headers = run_wsgi_app(self.app, environ, buffered=False)
        return Download(int(status.split(" ", 1)[0]), dict(resp_headers), iter(app_iter),
                        getattr(app_iter, "close", lambda: None))


class Api:
    """Calls on behalf of whoever's token is passed; knows nothing of sessions."""

    def __init__(self, transport: Callable):
        self.transport = transport

    def call(self, method: str, path: str, *, token: str | None = None, query: dict | None = None,
             body: Any = None, headers: dict | None = None, csv: bytes | None = None) -> Reply:
        sent = {"Accept": "application/json", **(headers or {})}
        raw = None
        if body is not None:
            raw = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if csv is not None:
            raw, sent["Content-Type"] = csv, "text/csv"
        if token:
            sent["Authorization"] = f"Bearer {token}"
        status, resp_headers, payload = self.transport(method, "/api/v1" + path, _query_string(query), raw, sent)
        return _decode(status, resp_headers, payload)


    def download(self, path: str, *, token: str, query: dict | None = None, headers: dict | None = None) -> Download:
        """A GET whose body streams; an error answer raises as :meth:`call`'s do."""
        sent = {"Accept": "text/csv, application/problem+json", "Authorization": f"Bearer {token}", **(headers or {})}
        answer = self.transport.stream("/api/v1" + path, _query_string(query), sent)
        if answer.status >= 400:
            try:
                body = b"".join(answer.chunks)
            finally:
                answer.close()
            _decode(answer.status, answer.headers, body)
        return answer


def build_api(api_url: str | None, timeout: float, wsgi_app: Callable | None = None) -> Api:
    if api_url or wsgi_app is None:
        return Api(HttpTransport(api_url or "http://127.0.0.1:8000", timeout))
    return Api(WsgiTransport(wsgi_app))
