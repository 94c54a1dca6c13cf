"""Runs `cadena up`'s processes: starts them, prefixes and collects their
output, and stops them all when one dies or on Ctrl-C.

(A process manager such as honcho forks a Python helper per child; with a
dozen children that alone costs most of a laptop's memory budget.)
"""
from __future__ import annotations

import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Supervisor:
    output: TextIO
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self, name: str, argv: list[str], env: dict) -> None:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, bufsize=1, text=True, errors="replace")
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

    def _terminate(self, grace: float = 10.0) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
