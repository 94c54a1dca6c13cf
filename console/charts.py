"""Charts drawn on the server as SVG, so they need no script: each bar is a
small SVG stretched to its row's width, with the figures beside it in text."""
from __future__ import annotations

from console.money import amount_of

WIDTH = 1000  # the bars' viewBox width; the SVG is stretched to the row
SEGMENTS = ("closed_won", "commit", "best_case")


def _value(forecast: dict, key: str) -> float:
    return float(amount_of(forecast.get(key)) or 0)


def _reach(forecast: dict) -> float:
    return max(_value(forecast, "quota"), sum(_value(forecast, k) for k in SEGMENTS))


def forecast_bars(rows: list[tuple[str, dict]]) -> list[dict]:
    """One bar per (name, forecast) on a shared scale: closed won, then commit,
    then best case stacked, and a mark at the quota."""
    scale = max((_reach(f) for _, f in rows), default=0) or 1.0
    bars = []
    for name, forecast in rows:
        x, segments = 0.0, []
        for key in SEGMENTS:
            width = _value(forecast, key) / scale * WIDTH
            if width > 0:
                segments.append({"kind": key, "x": round(x, 1), "width": round(width, 1)})
            x += width
        quota = _value(forecast, "quota")
        bars.append({"name": name, "forecast": forecast, "segments": segments,
                     "quota_x": round(quota / scale * WIDTH, 1) if quota else None})
    return bars
