"""Reading one record from another service (shared.peer) against a real local HTTP server."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.peer import PeerUnavailable, fetch_record

ANSWERS = {
    "/record": (200, json.dumps({"id": "r1", "name": "Bodegas Valdeolmos"}).encode()),
    "/missing": (404, b"{}"),
    "/gone": (410, b"{}"),
    "/failing": (503, b"{}"),
    "/garbage": (200, b"<html>"),
    "/list": (200, b"[1, 2]"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        status, body = ANSWERS[self.path]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture(scope="module")
def base():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_record_a_missing_one_and_what_counts_as_missing(base):
    assert fetch_record(base + "/record", "t0k", timeout=2) == {"id": "r1", "name": "Bodegas Valdeolmos"}
    assert fetch_record(base + "/missing", "t0k", timeout=2) is None
    assert fetch_record(base + "/gone", "t0k", timeout=2, missing=(404, 410)) is None
    with pytest.raises(PeerUnavailable, match="answered 410"):
        fetch_record(base + "/gone", "t0k", timeout=2)


@pytest.mark.parametrize("path, reason", [
    ("/failing", "answered 503"),
    ("/garbage", "not JSON"),
    ("/list", "not a record"),
])
def test_anything_else_is_unavailable_with_a_reason(base, path, reason):
    with pytest.raises(PeerUnavailable, match=reason):
        fetch_record(base + path, "t0k", timeout=2)


def test_no_token_or_no_server_is_unavailable():
    with pytest.raises(PeerUnavailable, match="no caller token"):
        fetch_record("http://127.0.0.1:1/record", None, timeout=1)
    with pytest.raises(PeerUnavailable, match="unreachable"):
        fetch_record("http://127.0.0.1:1/record", "t0k", timeout=1)
