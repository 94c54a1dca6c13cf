"""A real worker's consumer thread runs at the lower priority its setting
says; its relay and jobs threads keep the process's."""
from __future__ import annotations

import os
import sys

import pytest

from tests.support.wait import until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")


def _nice(thread) -> int:
    fields = open(f"/proc/self/task/{thread.native_id}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[16])  # the 19th field of stat(5), counted after the command's name


def test_the_consumer_thread_runs_lower_than_the_relay_and_the_jobs(build):
    base = os.getpriority(os.PRIO_PROCESS, 0)
    if base > 13:
        pytest.skip("this process already runs at the lowest priorities")
    accounts = build("accounts", consumer_nice=6)
    threads = {t.name.rsplit("-", 1)[1]: t for t in accounts.worker().start()}
    assert {"relay", "consumer", "jobs"} <= set(threads)
    until(lambda: _nice(threads["consumer"]) == base + 6)
    assert _nice(threads["relay"]) == base and _nice(threads["jobs"]) == base
