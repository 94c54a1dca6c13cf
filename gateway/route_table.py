"""Which service owns which public path. The gateway's own table, so that it
runs without the services' code (each can be deployed on its own);
tests/unit/test_routing.py holds it to every route every service serves.

Regular expressions over the path, matched whole."""
from __future__ import annotations

# Sub-paths of one service's resource that another serves, matched before
# ROUTES: an account's installed base and recommendations come from won deals.
NESTED: dict[str, tuple[str, ...]] = {
    "opportunities": (r"/api/v1/accounts/[^/]+/products", r"/api/v1/accounts/[^/]+/recommendations"),
}

ROUTES: dict[str, tuple[str, ...]] = {
    "accounts": (r"/api/v1/accounts(/.*)?", r"/api/v1/contacts(/.*)?"),
    "opportunities": (r"/api/v1/opportunities(/.*)?", r"/api/v1/pipeline(/.*)?", r"/api/v1/quotas(/.*)?",
                      r"/api/v1/forecast", r"/api/v1/products(/.*)?", r"/api/v1/exchange-rates(/.*)?"),
    "activities": (r"/api/v1/activities(/.*)?", r"/api/v1/agenda", r"/api/v1/users/[^/]+/calendar\.ics",
                   r"/api/v1/users/[^/]+/calendar-token"),
    "campaigns": (r"/api/v1/campaigns(/.*)?", r"/api/v1/unsubscribe/[^/]+"),
    "support": (r"/api/v1/cases(/.*)?", r"/api/v1/sla-policy"),
}

# Paths several services serve, each for its own records; the gateway picks
# the one (gateway/imports.py): a POST by its ?kind=, an id by asking each in turn.
SHARED: dict[str, tuple[str, ...]] = {
    r"/api/v1/imports(/.*)?": ("accounts", "opportunities"),
}

# Paths that carry their own credential (no bearer token): the calendar feed's ?token=,
# and campaign mail's signed one-click unsubscribe link (RFC 8058).
PUBLIC: tuple[str, ...] = (r"/api/v1/users/[^/]+/calendar\.ics", r"/api/v1/unsubscribe/[^/]+")
