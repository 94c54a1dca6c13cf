"""Accounts' scheduled work."""
from __future__ import annotations

from shared.worker import Job


def jobs(db, settings) -> list[Job]:
    return []
