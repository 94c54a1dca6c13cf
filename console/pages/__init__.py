"""Every page of the console. A new page is a blueprint module here, listed
in BLUEPRINTS, and (when it belongs in the navigation bar) in NAV."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from console.pages import accounts, auth, contacts, pipeline, search, today


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    section: str  # the first path segment the item stands for, to mark it current


NAV = [
    NavItem("today.index", _l("My day"), ""),
    NavItem("accounts.index", _l("Accounts"), "accounts"),
    NavItem("contacts.index", _l("Contacts"), "contacts"),
    NavItem("pipeline.board", _l("Pipeline"), "pipeline"),
]

BLUEPRINTS = [auth.bp, today.bp, accounts.bp, contacts.bp, pipeline.bp, search.bp]
