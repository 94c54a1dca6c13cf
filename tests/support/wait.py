"""Polling for asynchronous outcomes with a deadline (never a bare sleep)."""
from __future__ import annotations

from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed


def until(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Call predicate until it returns something truthy; return it, or fail after timeout."""

    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(interval), retry=retry_if_result(lambda r: not r),
           reraise=True)
    def attempt():
        return predicate()

    try:
        return attempt()
    except Exception as exc:  # tenacity raises RetryError on a falsy result
        raise AssertionError(f"condition not met within {timeout}s: {predicate}") from exc
