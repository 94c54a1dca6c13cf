"""Support's scheduled work: SLA breaches, checked every second."""
from __future__ import annotations

from shared.worker import Job

from services.support import sla


def jobs(db, settings) -> list[Job]:
    return [Job("sla_breaches", 1.0, lambda: sla.publish_breaches(db))]
