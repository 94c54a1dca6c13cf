"""Our copy of the accounts service's accounts and contacts.

Fed by accounts.account.* and accounts.contact.* events. A deal may be
created a moment after its account, before the account's event has reached
us: on a miss we read the record once from the accounts service (the
caller's bearer token, a short timeout) and keep it.
"""
from __future__ import annotations

from shared.http import Invalid
from shared.replica import ReadThrough, Replica, held

from services.opportunities.models import AccountReplica, ContactReplica

ACCOUNT_KEYS = ("name", "tax_id", "country", "billing_address", "owner_id", "industry", "segment")

ACCOUNTS = Replica(AccountReplica.__table__, version="source_version")
CONTACTS = Replica(ContactReplica.__table__, version="source_version")


class AccountsClient(ReadThrough):
    """Reads one account or contact from the accounts service (replica misses only)."""

    def __init__(self, base_url: str, timeout: float = 2.0):
        super().__init__("accounts", base_url, timeout=timeout)


def account_values(data: dict) -> dict:
    if not data.get("name"):
        raise ValueError("an account without a name")
    return {**{k: data.get(k) for k in ACCOUNT_KEYS}, "id": str(data["id"]),
            "source_version": int(data.get("version") or 0)}


def upsert_account(session, data: dict) -> None:
    """Apply a full account (event data or the accounts API); older versions never overwrite newer."""
    ACCOUNTS.upsert(session, account_values(data))


def mark_account_deleted(session, data: dict) -> None:
    ACCOUNTS.mark_deleted(session, {"id": str(data["id"])}, name=data.get("name") or "")


def contact_name(data: dict) -> str:
    return (data.get("name")
            or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
            or data.get("email") or "")


def contact_values(data: dict) -> dict:
    return dict(id=str(data["id"]), name=contact_name(data)[:200], email=data.get("email"),
                account_id=data.get("account_id"), source_version=int(data.get("version") or 0))


def upsert_contact(session, data: dict) -> None:
    CONTACTS.upsert(session, contact_values(data))


def mark_contact_deleted(session, data: dict) -> None:
    CONTACTS.mark_deleted(session, {"id": str(data["id"])}, name="", account_id=data.get("account_id"))


def _unknown(kind: str, field: str, ident: str) -> Invalid:
    return Invalid(f"No {kind} with id {ident}.", errors={field: [f"No {kind} with this id."]})


def find_account(session, account_id: str, token: str | None, client: AccountsClient | None,
                 *, allow_deleted: bool = False) -> AccountReplica:
    """The account from the replica, else read once from accounts and kept; 422 if unknown."""
    account_id = str(account_id)
    # A deal about to point to it holds the row (a merge waits); closing a deal only reads it.
    account = session.get(AccountReplica, account_id) if allow_deleted else held(session, AccountReplica, account_id)
    if account is None and client is not None:
        data = client.fetch(f"/api/v1/accounts/{account_id}", token, what=f"the account {account_id}",
                            field="account_id")
        if data is not None:
            upsert_account(session, data)
            account = session.get(AccountReplica, account_id, populate_existing=True)
    if account is None or (account.deleted and not allow_deleted):
        raise _unknown("account", "account_id", account_id)
    return account


def find_contact(session, contact_id: str, token: str | None, client: AccountsClient | None,
                 *, allow_deleted: bool = False) -> ContactReplica:
    contact_id = str(contact_id)
    contact = session.get(ContactReplica, contact_id) if allow_deleted else held(session, ContactReplica, contact_id)
    if contact is None and client is not None:
        data = client.fetch(f"/api/v1/contacts/{contact_id}", token, what=f"the contact {contact_id}",
                            field="primary_contact_id")
        if data is not None:
            upsert_contact(session, data)
            contact = session.get(ContactReplica, contact_id, populate_existing=True)
    if contact is None or (contact.deleted and not allow_deleted):
        raise _unknown("contact", "primary_contact_id", contact_id)
    return contact


def account_card(account: AccountReplica) -> dict:
    return {"id": account.id, "name": account.name, "tax_id": account.tax_id, "country": account.country,
            "billing_address": account.billing_address}


def contact_card(contact: ContactReplica | None) -> dict | None:
    if contact is None:
        return None
    return {"id": contact.id, "name": contact.name, "email": contact.email}

