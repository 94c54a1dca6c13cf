"""CPU time per process from /proc (utime + stime of every thread, plus
what reaped children spent), grouped by a label.

Throughput on a shared machine moves with everyone else's load; the CPU a
process spends on a piece of work moves much less, so the system bench
reports CPU-ms per write from here.

- our processes: every descendant of a root pid, labelled by its command
  line (``<component>.web`` for ``cadena serve``, ``<component>.worker``);
- Postgres: the backends serving our databases (``pg_stat_activity``),
  sampled while the run lasts, so a backend that comes and goes is counted
  (less what it spent after the last sample, at most one interval);
- RabbitMQ: the broker's VM (``beam.smp``). On a broker other people use,
  only the rise over its rate while our system sat idle is ours; that is an
  estimate, reported as such beside the raw figure.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


def ticks(pid: int, children: bool = True) -> int | None:
    """utime + stime (+ cutime + cstime) of a process in clock ticks; None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if children else 0)


def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every process we may read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        found[int(entry.name)] = (ppid, cmdline)
    return found


def descendants(root: int) -> dict[int, str]:
    """pid → command line of ``root`` and everything it started."""
    table = _processes()
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out[pid] = table[pid][1]
        todo.extend(child for child, (ppid, _) in table.items() if ppid == pid)
    return out


def cadena_label(cmdline: str) -> str:
    """`… shared.cli serve accounts` → accounts.web, `… worker accounts` → accounts.worker."""
    words = cmdline.split()
    for verb, kind in (("serve", "web"), ("worker", "worker")):
        if verb in words:
            at = words.index(verb)
            if at + 1 < len(words):
                return f"{words[at + 1]}.{kind}"
    if "smtp-sink" in words:
        return "smtp-sink"
    return "supervisor"


def broker_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "beam.smp":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class Meter:
    """Samples labelled processes every ``interval`` seconds between start()
    and stop(); ``spent()`` is CPU-ms per label over that span.

    ``find()`` returns {pid: label} of the processes to follow now; it is
    called at every sample, so processes that appear later are picked up
    (their whole life counts: they started inside the span)."""

    def __init__(self, find: Callable[[], dict[int, str]], interval: float = 0.25):
        self.find = find
        self.interval = interval
        self._base: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._labels: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self, first: bool = False) -> None:
        for pid, label in self.find().items():
            value = ticks(pid)
            if value is None:
                continue
            self._labels[pid] = label
            if first:
                self._base[pid] = value
            self._last[pid] = value

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._sample()
            except Exception:  # a sample lost to a racing exit; the next one counts
                continue

    def start(self) -> "Meter":
        self._base, self._last, self._labels = {}, {}, {}
        self._sample(first=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="cpu-meter")
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        return self.spent()

    def spent(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, last in self._last.items():
            label = self._labels[pid]
            out[label] = out.get(label, 0.0) + (last - self._base.get(pid, 0)) * TICK_MS
        return out


def postgres_backends(admin_url: str, databases: list[str]) -> Callable[[], dict[int, str]]:
    """A finder for the Postgres backends serving ``databases`` (not the bench's own connections)."""
    import psycopg

    conn = psycopg.connect(admin_url, autocommit=True, application_name="cadena-bench")
    lock = threading.Lock()

    def find() -> dict[int, str]:
        with lock:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s) "
                                "AND application_name <> 'cadena-bench'", (databases,)).fetchall()
        return {pid: "postgres" for (pid,) in rows}

    find.close = conn.close  # type: ignore[attr-defined]
    return find


def rate(find: Callable[[], dict[int, str]], seconds: float) -> dict[str, float]:
    """CPU-ms per second per label over ``seconds`` of whatever is going on."""
    meter = Meter(find).start()
    began = time.monotonic()
    time.sleep(seconds)
    spent = meter.stop()
    elapsed = time.monotonic() - began
    return {label: ms / elapsed for label, ms in spent.items()}


_REDUCTIONS = """
VH = <<"{vhost}">>,
Red = fun(P) when is_pid(P) -> case erlang:process_info(P, reductions) of {{reductions, R}} -> R; _ -> 0 end; (_) -> 0 end,
Qs = [case amqqueue:get_pid(Q) of {{N, Nd}} when Nd =:= node() -> whereis(N); P when is_pid(P) -> P; _ -> none end
      || Q <- rabbit_amqqueue:list(VH)],
Cs = [P || P <- rabbit_networking:connections(), (catch rabbit_reader:info(P, [vhost])) =:= [{{vhost, VH}}]],
Ch = [P || P <- rabbit_channel:list(), (catch rabbit_channel:info(P, [vhost])) =:= [{{vhost, VH}}]],
{{lists:sum([Red(P) || P <- Qs ++ Cs ++ Ch]), element(1, erlang:statistics(exact_reductions))}}.
"""


def broker_reductions(vhost: str) -> tuple[int, int] | None:
    """(reductions of our virtual host's queues, connections and channels,
    reductions of the whole VM) — the Erlang VM's own count of work done;
    None when rabbitmqctl cannot tell."""
    import re
    import shutil
    import subprocess

    if not vhost or not shutil.which("rabbitmqctl"):
        return None
    try:
        out = subprocess.run(["rabbitmqctl", "-q", "eval", _REDUCTIONS.format(vhost=vhost)], capture_output=True,
                             text=True, timeout=60).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    found = re.search(r"\{(\d+),(\d+)\}", out.replace(" ", ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


def broker_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Our share of the broker's work between two samples."""
    if not before or not after or after[1] <= before[1]:
        return None
    return max(0.0, min(1.0, (after[0] - before[0]) / (after[1] - before[1])))
