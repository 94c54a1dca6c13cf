"""A worker's consumer thread runs at a lower CPU priority than the rest of
the process (shared.worker.yielding); the other threads keep theirs."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from shared import config
from shared.worker import yielding

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")


def _nice_inside(target) -> int:
    seen: list[int] = []
    thread = threading.Thread(target=target(lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0))))
    thread.start()
    thread.join()
    return seen[0]


def test_the_consumer_thread_runs_lower_and_the_rest_of_the_process_does_not():
    base = os.getpriority(os.PRIO_PROCESS, 0)
    if base > 9:
        pytest.skip("this process already runs at the lowest priorities")
    assert _nice_inside(lambda run: yielding(run, 10)) == base + 10
    assert os.getpriority(os.PRIO_PROCESS, 0) == base
    assert _nice_inside(lambda run: run) == base  # another thread of the process


def test_zero_leaves_the_priority_alone_and_the_setting_is_bounded(monkeypatch):
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert _nice_inside(lambda run: yielding(run, 0)) == base
    monkeypatch.setenv("CADENA_CONSUMER_NICE", "40")
    assert config.load("accounts").consumer_nice == 19
    monkeypatch.setenv("CADENA_CONSUMER_NICE", "-5")
    assert config.load("accounts").consumer_nice == 0
    monkeypatch.delenv("CADENA_CONSUMER_NICE")
    assert config.load("accounts").consumer_nice == 10
