"""Accounts (companies) and contacts, the org chart, the contact lifecycle and
the account view kept from other services' events."""

NAME = "accounts"
# Public paths the gateway routes here (regular expressions over the path).
ROUTES = (r"/api/v1/accounts(/.*)?", r"/api/v1/contacts(/.*)?")
PUBLIC_ROUTES: tuple[str, ...] = ()
