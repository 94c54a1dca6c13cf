"""Several reads of one service in one call: `GET /internal/v1/parts?<name>=<path>&…`.

The gateway's customer 360 needs up to three lists from one service. Asked
one by one, each is an HTTP round trip on both sides, a connection checkout
with its ping and a transaction of its own. Through this endpoint the
service runs each path as a GET into its own app, one after the other, with
the caller's headers (so each part is authenticated and authorised exactly
as if it had been sent alone), all of them on one read session, and answers

    {"<name>": {"status": 200, "body": <the part's JSON>}, …}

in the order asked. A part that fails is only that part's status: the
caller decides what a missing part means. A part that is not JSON (a CSV
export) is answered with its status and a null body, its stream unread.
The endpoint is not routed by the gateway and not in the public API.
"""
from __future__ import annotations

import io
import json
import uuid
from contextvars import ContextVar
from urllib.parse import parse_qsl, unquote, urlsplit

from shared.http import PROBLEM, problem_type

PATH = "/internal/v1/parts"
MAX_PARTS = 10
PREFIX = "/api/v1/"
# what described the parts call itself, not the part
DROPPED = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING", "REQUEST_URI", "RAW_URI",
                     "HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IDEMPOTENCY_KEY"})


class SharedReads:
    """The one read session of a parts call, opened by the first part that reads."""

    def __init__(self, db):
        self.db = db
        self.session = None

    def get(self):
        if self.session is None:
            self.session = self.db.reads()
        return self.session

    def reset(self) -> None:
        """After a part that failed: its transaction may be unusable for the next part."""
        if self.session is not None:
            self.session.rollback()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


CURRENT: ContextVar[SharedReads | None] = ContextVar("cadena_shared_reads", default=None)


def shared_session():
    """The parts call's read session, or None outside one."""
    reads = CURRENT.get()
    return reads.get() if reads is not None else None


def _problem(start_response, status: int, title: str, detail: str, environ) -> list[bytes]:
    body = json.dumps({"type": problem_type(status), "title": title, "status": status, "detail": detail,
                       "instance": environ.get("PATH_INFO")}).encode()
    reason = {400: "Bad Request", 405: "Method Not Allowed"}[status]
    headers = [("Content-Type", PROBLEM), ("Content-Length", str(len(body))),
               ("X-Request-ID", (environ.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex)[:200])]
    if status == 405:
        headers.append(("Allow", "GET"))
    start_response(f"{status} {reason}", headers)
    return [body]


def parse(query: str) -> list[tuple[str, str, str]] | str:
    """[(name, path, query)] from the query string, or what is wrong with it."""
    # As WSGI does: bytes as latin-1 characters, so a part's path and query pass on exactly as they came
    pairs = [(name.encode("latin-1").decode("utf-8", "replace"), target)
             for name, target in parse_qsl(query, keep_blank_values=True, encoding="latin-1")]
    if not pairs:
        return f"Name at least one part: {PATH}?<name>=<path>."
    if len(pairs) > MAX_PARTS:
        return f"At most {MAX_PARTS} parts per call; {len(pairs)} were asked."
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        return "Each part needs a name of its own."
    parts = []
    for name, target in pairs:
        split = urlsplit(target)
        path = unquote(split.path, encoding="latin-1")
        if split.scheme or split.netloc or not path.startswith(PREFIX) or ".." in path:
            return f"Part '{name}': a path under {PREFIX} of this service is expected, not '{target[:200]}'."
        parts.append((name, path, _ascii(split.query)))
    return parts


def _ascii(query: str) -> str:
    """A part's query as a client would send it: a byte outside printable ASCII percent-encoded."""
    return "".join(c if " " < c < "\x7f" else f"%{ord(c):02X}" for c in query)


class Parts:
    """WSGI middleware answering PATH; every other request goes straight to the app."""

    def __init__(self, app, db):
        self.app = app
        self.db = db

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "GET":
            return _problem(start_response, 405, "Method not allowed", f"{PATH} answers GET only.", environ)
        parts = parse(environ.get("QUERY_STRING", ""))
        if isinstance(parts, str):
            return _problem(start_response, 400, "Bad request", parts, environ)
        reads = SharedReads(self.db)
        token = CURRENT.set(reads)
        try:
            answers = [self._answer(name, path, query, environ, reads) for name, path, query in parts]
        finally:
            CURRENT.reset(token)
            reads.close()
        body = b"{" + b", ".join(answers) + b"}"
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [body]

    def _answer(self, name: str, path: str, query: str, environ, reads: SharedReads) -> bytes:
        sub = {key: value for key, value in environ.items() if key not in DROPPED}
        sub.update({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
                    "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO(b"")})
        got: dict = {}

        def start(status, headers, exc_info=None):
            got["status"] = int(status.split(" ", 1)[0])
            got["type"] = next((v for k, v in headers if k.lower() == "content-type"), "")
            return lambda _data: None

        result = self.app(sub, start)
        media = got["type"].split(";", 1)[0].strip()
        try:  # only a JSON answer is read: a CSV export is a stream left unread
            data = b"".join(result) if media == "application/json" or media.endswith("+json") else b""
        finally:
            if hasattr(result, "close"):
                result.close()
        status = got["status"]
        if status >= 500:
            reads.reset()
        payload = data or b"null"
        return json.dumps(name).encode() + b': {"status": ' + str(status).encode() + b', "body": ' + payload + b"}"
