"""A real HTTP server on 127.0.0.1 that plays a webhook endpoint: it keeps
every request and answers each path with scripted statuses (the last one
for ever after), optionally after a pause. Used by the webhook tests and
the webhook bench."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Script:
    statuses: list[int] = field(default_factory=lambda: [200])
    pause: float = 0.0  # seconds before answering (past the sender's timeout: a hung endpoint)


class Receiver:
    def __init__(self, keep: bool = True):
        self.keep = keep
        self.received: list[Received] = []
        self.count = 0
        self.scripts: dict[str, Script] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def script(self, path: str, *statuses: int, pause: float = 0.0) -> None:
        self.scripts[path] = Script(list(statuses) or [200], pause)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def _answer(self, path: str) -> tuple[int, float]:
        with self._lock:
            script = self.scripts.setdefault(path, Script())
            status = script.statuses.pop(0) if len(script.statuses) > 1 else script.statuses[0]
            return status, script.pause

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do
            disable_nagle_algorithm = True  # headers and body leave at once (no delayed-ACK stall)

            def do_POST(self):  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.count += 1
                    if receiver.keep:
                        receiver.received.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                status, pause = receiver._answer(self.path)
                if pause:
                    time.sleep(pause)
                reply = b'{"ok":true}' if status < 300 else b'{"ok":false}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *_args):
                pass

        return Handler
