"""What a web process answers to a request gunicorn refuses before the
application sees it — a request line that is not HTTP, a header too long,
bytes that are not text: an RFC 9457 problem+json like every other error
(CONTRACTS §2), with its own X-Request-ID, instead of gunicorn's HTML page.

gunicorn writes that answer with ``gunicorn.util.write_error(sock, status,
reason, message)``, which its workers call through the module; the web
process puts :func:`write_problem` in its place before the workers fork."""
from __future__ import annotations

import json
import uuid


REQUEST_LINE_LIMIT = 8190  # bytes: long filter URLs fit; beyond it gunicorn answers itself (414)
NEXT_STEP = {
    414: f"Shorten the address (at most {REQUEST_LINE_LIMIT:,} bytes in the request line).",
    431: "Send fewer or shorter headers.",
    501: "Send the body with Content-Length or chunked transfer encoding.",
}
READ_AGAIN = "Send valid HTTP/1.1 with an ASCII path and headers (percent-encode anything else)."


def write_problem(sock, status_int: int, reason: str, mesg: str) -> None:
    from gunicorn.util import write_nonblock

    # Imported here, in a worker that has it already: the master that installs
    # this stays small (shared.http brings Flask, about 20 MB in each master).
    from shared.http import PROBLEM, problem_type

    if status_int >= 500 and status_int != 501:
        detail = "The server could not handle the request; try again."
    else:
        detail = f"{mesg or reason}. {NEXT_STEP.get(status_int, READ_AGAIN)}"
    body = json.dumps({"type": problem_type(status_int), "title": reason, "status": status_int,
                       "detail": detail, "instance": None}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM}\r\n"
            f"Content-Length: {len(body)}\r\nX-Request-ID: {uuid.uuid4()}\r\n\r\n")
    write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    from gunicorn import util

    util.write_error = write_problem
