"""Accounts (companies) and contacts, the org chart, the contact lifecycle and
the account view kept from other services' events."""

NAME = "accounts"
