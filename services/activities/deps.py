"""What activities' requests need beyond the common dependencies."""
from __future__ import annotations

from dataclasses import dataclass

from shared.web import Dependencies

from services.activities.links import Links


@dataclass(kw_only=True)
class ActivitiesDeps(Dependencies):
    links: Links
    public_url: str  # where calendar apps reach the feed: the gateway's public address
