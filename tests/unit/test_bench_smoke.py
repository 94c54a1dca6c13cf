"""The benchmarks work (not how fast anything is: nothing here compares a
figure with a target). The report's chart and judgement are pure; the
consumer, latency and listing benches run once with tiny sizes on the real
Postgres and RabbitMQ (marked integration). The 360 bench starts the whole
system and is left to `cadena bench aggregate`."""
from __future__ import annotations

import json
import os
import struct
import zlib

import pytest

from bench import report
from bench.latency import percentile, summary


def _decode_png(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2) and b"IEND" in chunks
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_report_judges_each_figure_against_its_target_and_draws_a_valid_png(tmp_path):
    (tmp_path / "consumer.json").write_text(json.dumps({"bench": "consumer", "at": "now", "ratio": 0.62}))
    (tmp_path / "latency.json").write_text(json.dumps({"ours": {"p50_ms": 25.0, "p99_ms": 40.0}}))
    (tmp_path / "listing.json").write_text(json.dumps({"ratio": 1.05, "middle_ratio": 3.0}))
    (tmp_path / "mystery.json").write_text(json.dumps({"ratio": 9}))
    collected = report.collect(tmp_path)
    verdicts = {f["figure"]: f["met"] for f in collected["figures"]}
    assert verdicts == {"inbox consumer vs raw pika": True, "event latency p50": False, "event latency p99": True,
                        "contacts page N vs page 1": True, "contacts mid page vs page 1": False}
    assert collected["also_saved"] == ["mystery"]
    width, height, raw = _decode_png(report.chart(collected["figures"]))
    assert len(raw) == height * (1 + 3 * width)  # a filter byte and RGB pixels per row
    green, red = bytes((60, 160, 90)), bytes((210, 70, 60))
    assert green in raw and red in raw


def test_percentiles_of_latencies():
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile([v * 1000 for v in values], 99) == 99
    figures = summary(values)
    assert figures["p50_ms"] == 50.5 and figures["p99_ms"] == 99 and figures["max_ms"] == 100


@pytest.mark.integration
def test_consumer_bench_runs(servers):
    from bench.consumer import bench_consumer

    figures = bench_consumer(servers, 60, prefetch=20)
    assert figures["inbox_consumer_msgs_per_s"] > 0 and figures["raw_pika_consumer_msgs_per_s"] > 0
    assert figures["one_transaction_per_message_msgs_per_s"] > 0 and figures["mean_window"] >= 1


@pytest.mark.integration
def test_latency_bench_runs(servers):
    from bench.latency import bench_latency

    figures = bench_latency(servers, 10)
    assert 0 < figures["ours"]["p50_ms"] <= figures["ours"]["max_ms"]
    assert figures["raw_dual_write"]["p50_ms"] > 0


@pytest.mark.integration
def test_listing_bench_runs(servers):
    from bench.listing import bench_listing

    figures = bench_listing(servers, rows=300, limit=10, repeat=2)
    assert figures["page"] == 30 and figures["middle_page"] == 15
    assert figures["page_1_ms"] > 0 and figures["page_n_ms"] > 0 and figures["raw_offset_page_n_ms"] > 0


@pytest.mark.integration
def test_revocation_bench_runs(servers):
    from bench.revocation import bench_revocation

    figures = bench_revocation(servers, 20)
    assert set(figures["ms_per_request"]) == {"off", "cached_1s", "uncached"}
    assert all(ms > 0 for ms in figures["ms_per_request"].values())


@pytest.mark.integration
def test_tracing_bench_runs(servers):
    from bench.tracing import bench_tracing

    figures = bench_tracing(servers, 3, rounds=1)
    for op in ("read", "write"):
        assert set(figures[op]["requests_per_s"]) == {"none", "off", "on"}
    assert figures["hooks_cpu_us"]["with_traceparent"]["none_us"] > 0


def test_search_bench_runs(servers):
    from bench.search import bench_search

    figures = bench_search(servers, rows=3000, each=2, repeat=1)
    assert set(figures["queries"]) == {"name prefix", "accent-free surname", "e-mail", "phone digits", "typo"}
    assert all(f["api"]["p50_ms"] > 0 and f["index"]["p50_ms"] > 0 for f in figures["queries"].values())
    assert figures["found"]["e-mail"]["with_results"] == 2 and figures["found"]["phone digits"]["with_results"] == 2
    assert figures["baseline_pk_lookup"]["p50_ms"] > 0


def test_webhooks_bench_runs(servers):
    from bench.webhooks import bench_webhooks

    figures = bench_webhooks(servers, 40, threads=2)
    assert figures["deliveries_per_s"] > 0 and figures["raw_posts_per_s"] > 0 and figures["ratio"] > 0


def test_import_bench_runs(servers):
    from bench.imports import bench_import

    figures = bench_import(servers, 50, timeout=180)
    assert figures["rows"] == 50 and figures["import_rows_per_s"] > 0 and figures["catch_up_seconds"] > 0
    assert figures["copy_rows_per_s"] > 0 and figures["executemany_rows_per_s"] > 0
    # where the CPU went: every worker by name, the Postgres backends and the broker, and the ceiling they set
    assert {"accounts", "gateway", "postgres", "rabbitmq"} <= set(figures["cpu_ms_per_row"])
    assert figures["cpu_ms_per_row"]["accounts"] > 0 and figures["cpu_ms_per_row"]["postgres"] > 0
    assert figures["cpu_ms_per_row_total"] == pytest.approx(sum(figures["cpu_ms_per_row"].values()), abs=0.01)
    assert figures["ceiling_rows_per_s"] == pytest.approx(
        (os.cpu_count() or 1) * 1000 / figures["cpu_ms_per_row_total"], rel=0.01)


def test_cpu_meter_labels_processes_and_adds_up_their_time():
    import subprocess
    import sys

    from bench import cpu

    assert cpu.cadena_label("/x/python -m shared.cli serve accounts") == "accounts.web"
    assert cpu.cadena_label("/x/python -m shared.cli worker gateway") == "gateway.worker"
    assert cpu.cadena_label("/x/cadena up --no-seed") == "supervisor"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in cpu.descendants(os.getpid())
        meter = cpu.Meter(lambda: {os.getpid(): "me", child.pid: "child"}).start()
        sum(i * i for i in range(200_000))
        spent = meter.stop()
        assert set(spent) == {"me", "child"} and all(ms >= 0 for ms in spent.values())
    finally:
        child.kill()
        child.wait()
    assert cpu.broker_share((10, 100), (40, 400)) == 0.1 and cpu.broker_share(None, (1, 2)) is None


def test_system_bench_counts_per_write_and_groups_by_kind():
    from bench.system import _kinds, _per_write, _percentile

    per = _per_write({"accounts.web": 300.0, "accounts.worker": 100.0, "postgres": 50.0}, 100)
    assert per == {"accounts.web": 3.0, "accounts.worker": 1.0, "postgres": 0.5}
    assert _kinds(per) == {"web": 3.0, "worker": 1.0, "postgres": 0.5}
    assert _percentile(list(range(1, 101)), 50) == 50 and _percentile([], 99) == 0.0
