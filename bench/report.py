"""`cadena bench report`: gather the figures the benchmarks saved under
bench/results/, judge each against its target, write report.json and a
small bar chart, report.png (a pure-Python PNG writer with a 3×5 pixel font:
no plotting library for one chart).

Each bar is the figure's distance to its target: value / target when higher
is better, target / value when lower is better; the line marks the target,
a green bar meets it, a red one does not.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.runner import RESULTS, save


@dataclass(frozen=True)
class Figure:
    bench: str
    label: str
    get: Callable[[dict], float]
    target: float
    higher_is_better: bool
    unit: str = "x"


FIGURES = [
    Figure("write", "write path vs bare insert", lambda r: r["write_path"]["ratio"], 0.8, True),
    Figure("write", "relay vs raw pika", lambda r: r["relay"]["ratio"], 0.7, True),
    Figure("consumer", "inbox consumer vs raw pika", lambda r: r["ratio"], 0.5, True),
    Figure("latency", "event latency p50", lambda r: r["ours"]["p50_ms"], 20, False, "ms"),
    Figure("latency", "event latency p99", lambda r: r["ours"]["p99_ms"], 100, False, "ms"),
    Figure("aggregate", "customer 360 vs slowest slice", lambda r: r["ratio"], 1.3, False),
    Figure("listing", "contacts page N vs page 1", lambda r: r["ratio"], 1.2, False),
    Figure("listing", "contacts mid page vs page 1", lambda r: r["middle_ratio"], 1.2, False),
    Figure("opportunities", "pipeline and forecast, largest size vs smallest",
           lambda r: max(r["growth"].values()), 1.2, False),
    Figure("search", "search p50, slowest kind of query",
           lambda r: max(q["api"]["p50_ms"] for q in r["queries"].values()), 50, False, "ms"),
    Figure("import", "import rows per second", lambda r: r["import_rows_per_s"], 5000, True, "/s"),
    Figure("import", "import: consumers caught up after its end",
           lambda r: r["catch_up_after_import_seconds"], 30, False, "s"),
    Figure("system", "system CPU per create", lambda r: r["cpu_ms_per_write"], 8, False, "ms"),
    # 2x the 93.5 creates/s measured before the work on issue 22 (8 clients, 15 s).
    Figure("system", "system creates per second", lambda r: r["throughput"], 187, True, "/s"),
]


def collect(results: Path = RESULTS) -> dict:
    saved = {}
    for path in sorted(results.glob("*.json")):
        if path.stem != "report":
            try:
                saved[path.stem] = json.loads(path.read_text())
            except ValueError:
                continue
    figures = []
    for figure in FIGURES:
        if figure.bench not in saved:
            continue
        try:
            value = float(figure.get(saved[figure.bench]))
        except (KeyError, TypeError, ValueError):
            continue
        met = value >= figure.target if figure.higher_is_better else value <= figure.target
        score = value / figure.target if figure.higher_is_better else figure.target / value if value else 0.0
        figures.append({"bench": figure.bench, "figure": figure.label, "value": value, "unit": figure.unit,
                        "target": f"{'≥' if figure.higher_is_better else '≤'} {figure.target:g}",
                        "met": met, "score": round(score, 3), "measured_at": saved[figure.bench].get("at")})
    others = sorted(set(saved) - {f.bench for f in FIGURES})
    return {"figures": figures, "also_saved": others}


# -- a PNG with no dependencies -------------------------------------------------------

GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001010010",
    "8": "111101111101111", "9": "111101111001111", "A": "010101111101101", "B": "110101110101110",
    "C": "011100100100011", "D": "110101101101110", "E": "111100110100111", "F": "111100110100100",
    "G": "011100101101011", "H": "101101111101101", "I": "111010010010111", "J": "001001001101010",
    "K": "101101110101101", "L": "100100100100111", "M": "101111111101101", "N": "110101101101101",
    "O": "010101101101010", "P": "110101110100100", "Q": "010101101011001", "R": "110101110101101",
    "S": "011100010001110", "T": "111010010010010", "U": "101101101101111", "V": "101101101101010",
    "W": "101101111111101", "X": "101101010101101", "Y": "101101010010010", "Z": "111001010100111",
    " ": "000000000000000", ".": "000000000000010", ":": "000010000010000", "-": "000000111000000",
    "/": "001001010100100", "%": "101001010100101", "<": "001010100010001", ">": "100010001010100",
    "=": "000111000111000", "(": "010100100100010", ")": "010001001001010", "_": "000000000000111",
}
SCALE = 2
CHAR_W, CHAR_H = 4 * SCALE, 5 * SCALE  # 3 px glyph + 1 px gap


class Canvas:
    def __init__(self, width: int, height: int, background=(255, 255, 255)):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, color) -> None:
        for row in range(max(0, y), min(self.height, y + h)):
            start = (row * self.width + max(0, x)) * 3
            end = (row * self.width + min(self.width, x + w)) * 3
            if end > start:
                self.pixels[start:end] = bytes(color) * ((end - start) // 3)

    def text(self, x: int, y: int, text: str, color=(40, 40, 40)) -> None:
        text = text.upper().replace("≥", ">=").replace("≤", "<=").replace("×", "X")
        for i, char in enumerate(text):
            bits = GLYPHS.get(char, GLYPHS["_"])
            for n, bit in enumerate(bits):
                if bit == "1":
                    self.rect(x + i * CHAR_W + (n % 3) * SCALE, y + (n // 3) * SCALE, SCALE, SCALE, color)

    def png(self) -> bytes:
        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        stride = self.width * 3
        raw = b"".join(b"\x00" + bytes(self.pixels[r * stride:(r + 1) * stride]) for r in range(self.height))
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + \
            chunk(b"IEND", b"")


def chart(figures: list[dict], cap: float = 3.0) -> bytes:
    label_w = max([len(f["figure"]) for f in figures] + [10]) * CHAR_W + 16
    bar_w, value_w, row_h, top = 360, 24 * CHAR_W, 26, 36
    canvas = Canvas(label_w + bar_w + value_w + 16, top + row_h * max(1, len(figures)) + 16)
    canvas.text(8, 10, "Cadena benchmarks: each bar is value against its target (line = target)")
    target_x = label_w + int(bar_w / cap)
    for i, f in enumerate(figures):
        y = top + i * row_h
        canvas.text(8, y + 6, f["figure"])
        length = max(2, int(bar_w * min(f["score"], cap) / cap))
        canvas.rect(label_w, y + 2, length, row_h - 8, (60, 160, 90) if f["met"] else (210, 70, 60))
        value = f"{f['value']:g} {f['unit'] if f['unit'] != 'x' else ''}".strip()
        canvas.text(label_w + bar_w + 8, y + 6, f"{value}  {f['target']}")
    canvas.rect(target_x, top - 4, 2, row_h * max(1, len(figures)) + 4, (30, 30, 30))
    return canvas.png()


def main(args: list[str]) -> dict:
    report = collect()
    if not report["figures"]:
        print("bench report: no results yet under bench/results/; run `cadena bench all` first")
        return report
    for f in report["figures"]:
        verdict = "ok  " if f["met"] else "MISS"
        print(f"{verdict} {f['figure']:<34} {f['value']:>10g} {f['unit']:<3} target {f['target']}")
    png = RESULTS / "report.png"
    png.write_bytes(chart(report["figures"]))
    report["chart"] = str(png)
    print(f"report: {save('report', report)}; chart: {png}")
    return report
