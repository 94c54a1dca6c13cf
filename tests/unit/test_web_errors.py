"""What the web process writes for a request gunicorn refuses itself
(shared/web_errors.py): a problem+json a client can read, saying what to do."""
from __future__ import annotations

import json
import socket

import pytest

from shared import web_errors
from tests.support.raw_http import read_answer


def _written(status: int, reason: str, message: str) -> tuple[str, dict, dict]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        web_errors.write_problem(ours, status, reason, message)
        ours.shutdown(socket.SHUT_WR)
        line, headers, body = read_answer(theirs)
    assert int(headers["Content-Length"]) == len(body)
    return line, headers, json.loads(body)


@pytest.mark.parametrize("status, reason, slug, hint", [
    (400, "Bad Request", "bad-request", "percent-encode"),
    (414, "URI Too Long", "uri-too-long", "Shorten the address"),
    (431, "Request Header Fields Too Large", "headers-too-large", "fewer or shorter headers"),
    (501, "Not Implemented", "not-implemented", "chunked"),
])
def test_a_refused_request_gets_a_problem_with_its_next_step(status, reason, slug, hint):
    line, headers, problem = _written(status, reason, "Invalid Request Line 'GET /\u00f1'")
    assert line == f"HTTP/1.1 {status} {reason}"
    assert headers["Content-Type"] == "application/problem+json" and headers["Connection"] == "close"
    assert headers["X-Request-ID"]
    assert problem["type"] == f"https://cadena.dev/problems/{slug}" and problem["status"] == status
    assert problem["title"] == reason and hint in problem["detail"]


def test_an_error_of_the_server_itself_says_nothing_of_the_request():
    _, _, problem = _written(500, "Internal Server Error", "")
    assert problem["type"].endswith("/internal-error") and "try again" in problem["detail"]


def test_the_web_process_puts_it_in_gunicorns_place():
    from gunicorn import util

    original = util.write_error
    try:
        web_errors.install()
        assert util.write_error is web_errors.write_problem
    finally:
        util.write_error = original


def test_the_gunicorn_master_that_installs_it_does_not_load_flask():
    """The master forks the workers and stays small: about 20 MB each if it did."""
    import subprocess
    import sys

    loaded = subprocess.run([sys.executable, "-c", "import sys, shared.web_errors; print('flask' in sys.modules)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"
