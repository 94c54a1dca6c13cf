"""SMTP helpers: a local sink for the demo and tests (aiosmtpd)."""
from __future__ import annotations

import email
import email.policy
import threading
import time
from pathlib import Path


class MailboxHandler:
    """Keeps every message: in memory, and as .eml files when given a folder."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()
        if folder:
            folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            if self.folder:
                name = f"{time.time_ns()}.eml"
                (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 OK"


def start_sink(port: int = 0, folder: Path | None = None, host: str = "127.0.0.1"):
    """Start an in-process SMTP server; returns (controller, handler). port=0 picks a free one."""
    from aiosmtpd.controller import Controller

    if port == 0:
        import socket

        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    handler = MailboxHandler(folder)
    controller = Controller(handler, hostname=host, port=port)
    controller.start()
    return controller, handler


def run_sink(port: int, folder: Path) -> None:
    controller, _ = start_sink(port, folder)
    print(f"SMTP sink listening on 127.0.0.1:{controller.port}; messages go to {folder}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
