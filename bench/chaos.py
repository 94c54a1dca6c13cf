"""The chaos run of tests/faults/test_chaos.py, longer: more creates per
client (`--per-client`, 500 by default) under the same kills and cuts. It
prints the creates, the retried failures and the time to catch up."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(args: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="cadena bench chaos")
    parser.add_argument("--per-client", type=int, default=500)
    parser.add_argument("--clients", type=int, default=6)
    opts, _ = parser.parse_known_args(args)
    env = {**os.environ, "CADENA_CHAOS_PER_CLIENT": str(opts.per_client), "CADENA_CHAOS_CLIENTS": str(opts.clients)}
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/faults/test_chaos.py", "-q", "-s", "-p",
                           "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("chaos:") or "passed" in line
             or "failed" in line]
    print("\n".join(lines) or done.stdout[-2000:])
    return {"passed": done.returncode == 0, "summary": lines}
