"""The gateway's client for a service, against a real local HTTP server that
drops a kept-alive connection just as it is reused."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway.clients import ServiceClient, ServiceUnavailable


class Service(BaseHTTPRequestHandler):
    """Answers every request on a connection's first use; a reused connection
    is closed without an answer (as a server does when its keep-alive ends)."""

    protocol_version = "HTTP/1.1"

    def handle_one_request(self):
        if getattr(self, "answered", False):
            if self.rfile.readline(65537):  # a request came on the kept-alive connection
                self.server.served.append("dropped")
            self.close_connection = True
            return
        super().handle_one_request()

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.served.append(self.command)
        self.answered = True
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *_):
        pass


@pytest.fixture
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    server.served = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = ServiceClient("accounts", f"http://127.0.0.1:{server.server_address[1]}", timeout=2)
    client.served = server.served
    yield client
    server.shutdown()


def test_a_read_on_a_dropped_kept_alive_connection_is_sent_again_once(service):
    assert service.request("GET", "/api/v1/accounts").status == 200
    assert service.request("GET", "/api/v1/accounts").status == 200  # the reused connection is dropped
    assert service.served == ["GET", "dropped", "GET"]


def test_a_write_on_a_dropped_connection_is_not_sent_again(service):
    assert service.request("GET", "/api/v1/accounts").status == 200
    with pytest.raises(ServiceUnavailable):
        service.request("POST", "/api/v1/contacts", body=b"{}")
    assert service.served == ["GET", "dropped"]
