"""An HTTP answer read straight off a socket, for requests no HTTP client
would send (the web server's own refusals)."""
from __future__ import annotations

import socket


def read_answer(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers, body) of what the other side writes until it closes."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], dict(line.split(": ", 1) for line in lines[1:]), body
