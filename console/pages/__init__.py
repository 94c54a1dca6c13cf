"""Every page of the console. A new page is a blueprint module here, listed
in BLUEPRINTS, and (when it belongs in the navigation bar) in NAV."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from console.pages import (accounts, agenda, api_clients, auth, campaigns, cases, contacts, duplicates, exports,
                           forecast, handover, history, imports, pipeline, search, today, users, webhooks)
from console.pages import merge  # noqa: F401  (its pages join the accounts and contacts blueprints)
from console.permissions import can


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    section: str  # the first path segment the item stands for, to mark it current
    action: str | None = None  # shown only to roles that may do this (console.permissions)

    def shown(self) -> bool:
        return self.action is None or can(self.action)


NAV = [
    NavItem("today.index", _l("My day"), ""),
    NavItem("accounts.index", _l("Accounts"), "accounts"),
    NavItem("contacts.index", _l("Contacts"), "contacts"),
    NavItem("pipeline.board", _l("Pipeline"), "pipeline"),
    NavItem("forecast.index", _l("Forecast"), "forecast"),
    NavItem("agenda.week", _l("Agenda"), "agenda"),
    NavItem("cases.index", _l("Cases"), "cases"),
    NavItem("campaigns.index", _l("Campaigns"), "campaigns"),
    NavItem("imports.start", _l("Import"), "imports", action="import_data"),
    NavItem("users.index", _l("Users"), "admin", action="see_users"),
]

BLUEPRINTS = [auth.bp, today.bp, accounts.bp, contacts.bp, pipeline.bp, search.bp, forecast.bp, agenda.bp,
              cases.bp, campaigns.bp, users.bp, handover.bp, api_clients.bp, history.bp, duplicates.bp,
              webhooks.bp, exports.bp, imports.bp]
