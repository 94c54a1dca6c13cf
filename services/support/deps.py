"""What support's requests need beyond the common dependencies."""
from __future__ import annotations

from dataclasses import dataclass

from shared.web import Dependencies

from services.support.replica import AccountsLookup


@dataclass(kw_only=True)
class SupportDeps(Dependencies):
    accounts: AccountsLookup  # accounts and contacts: the replica first, then the accounts service
