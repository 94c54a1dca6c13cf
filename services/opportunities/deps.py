"""What opportunities' requests need beyond the common dependencies."""
from __future__ import annotations

from dataclasses import dataclass

from shared.web import Dependencies

from services.opportunities.service import Deps


@dataclass(kw_only=True)
class OpportunitiesDeps(Dependencies):
    use_cases: Deps  # what the use cases reach outside their transaction
