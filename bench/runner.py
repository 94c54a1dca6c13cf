"""`cadena bench …`: every benchmark prints ratios against a raw baseline
measured in the same run, on the same machine. None of them fails on a slow
machine; they report."""
from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BENCHES = {
    "write": "bench.write",
    "opportunities": "bench.opportunities_bench",
    "consumer": "bench.consumer",
    "latency": "bench.latency",
    "aggregate": "bench.aggregate",
    "listing": "bench.listing",
    "search": "bench.search",
    "revocation": "bench.revocation",
    "tracing": "bench.tracing",
    "webhooks": "bench.webhooks",
    "import": "bench.imports",
    "system": "bench.system",
    "chaos": "bench.chaos",
    "report": "bench.report",  # last: it reads what the others saved
}


def save(name: str, figures: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"bench": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **figures}, indent=2))
    return path


def main(which: str, args: list[str]) -> None:
    # Benchmarks run from a checkout and reuse the test suite's server helpers.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    names = [n for n in BENCHES if n != "chaos"] if which == "all" else [which]  # chaos: on its own
    for name in names:
        if name not in BENCHES:
            print(f"cadena: unknown benchmark '{name}'; choose one of: all, {', '.join(BENCHES)}", file=sys.stderr)
            sys.exit(2)
        try:
            module = importlib.import_module(BENCHES[name])
        except ModuleNotFoundError as exc:
            if exc.name != BENCHES[name]:
                raise
            print(f"(skipping {name}: not part of this build)")
            continue
        module.main(args)
