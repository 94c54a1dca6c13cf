"""Runs `cadena up`'s processes: starts them, prefixes and collects their
output, and stops them all when one dies or on Ctrl-C.

(A process manager such as honcho forks a Python helper per child; with a
dozen children that alone costs most of a laptop's memory budget.)
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, SIGTERM when the supervisor dies,
    even by SIGKILL, so no component outlives it (holding ports, taking events)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


@dataclass
class Supervisor:
    output: TextIO
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self, name: str, argv: list[str], env: dict) -> None:
        # Each child leads its own process group, so stopping it reaches the
        # processes it starts too (gunicorn's workers).
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, bufsize=1, text=True, errors="replace",
                                start_new_session=True, preexec_fn=_die_with_parent)
        self.processes[name] = proc
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        width = max(len(n) for n in self.processes) if self.processes else len(name)
        for line in proc.stdout:
            with self._lock:
                self.output.write(f"{time.strftime('%H:%M:%S')} {name:<{width}} | {line}")
                self.output.flush()

    def note(self, message: str) -> None:
        with self._lock:
            self.output.write(f"{time.strftime('%H:%M:%S')} {'system':<8} | {message}\n")
            self.output.flush()

    def stop(self, *_args) -> None:
        self._stopping.set()

    def run(self) -> int:
        """Block until one process exits or a stop is asked; stop the rest; return an exit code."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.stop)
        code = 0
        while not self._stopping.is_set():
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    self.note(f"{name} exited with code {proc.returncode}; stopping everything")
                    code = proc.returncode or 1
                    self._stopping.set()
                    break
            self._stopping.wait(0.5)
        self._terminate()
        return code

    @staticmethod
    def _signal_group(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def _terminate(self, grace: float = 10.0) -> None:
        for proc in self.processes.values():
            self._signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left in any group (a stuck gunicorn worker) goes now.
        for proc in self.processes.values():
            self._signal_group(proc, signal.SIGKILL)
            proc.wait()
