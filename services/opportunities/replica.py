"""Our copy of the accounts service's accounts and contacts.

Fed by accounts.account.* and accounts.contact.* events. A deal may be
created a moment after its account, before the account's event has reached
us: on a miss we read the record once from the accounts service (the
caller's bearer token, a short timeout) and keep it.
"""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from shared.db import utcnow
from shared.http import Invalid
from shared.peer import PeerUnavailable, fetch_record, owner_unavailable

from services.opportunities.models import AccountReplica, ContactReplica

ACCOUNT_KEYS = ("name", "tax_id", "country", "billing_address", "owner_id", "industry", "segment")


class AccountsUnavailable(Exception):
    pass


class AccountsClient:
    """Reads one account or contact from the accounts service (replica misses only)."""

    def __init__(self, base_url: str, timeout: float = 2.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def fetch(self, kind: str, ident: str, token: str | None) -> dict | None:
        """The record, None if accounts says it does not exist; raises AccountsUnavailable otherwise."""
        try:
            return fetch_record(f"{self.base_url}/api/v1/{kind}/{ident}", token, timeout=self.timeout,
                                missing=(404, 410))
        except PeerUnavailable as exc:
            raise AccountsUnavailable(exc.reason) from None


def _insert(session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def upsert_account(session, data: dict) -> None:
    """Apply a full account (event data or the accounts API); older versions never overwrite newer."""
    values = {k: data.get(k) for k in ACCOUNT_KEYS}
    values.update(id=str(data["id"]), source_version=int(data.get("version") or 0), updated_at=utcnow())
    if not values["name"]:
        raise ValueError("an account without a name")
    stmt = _insert(session)(AccountReplica).values(deleted=False, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[AccountReplica.id],
        set_={k: v for k, v in values.items() if k != "id"},  # `deleted` is final: never reset
        where=AccountReplica.source_version <= values["source_version"],
    )
    session.execute(stmt)


def mark_account_deleted(session, data: dict) -> None:
    stmt = _insert(session)(AccountReplica).values(
        id=str(data["id"]), name=data.get("name") or "", deleted=True, source_version=0, updated_at=utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=[AccountReplica.id],
                                      set_={"deleted": True, "updated_at": utcnow()})
    session.execute(stmt)


def contact_name(data: dict) -> str:
    return (data.get("name")
            or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
            or data.get("email") or "")


def upsert_contact(session, data: dict) -> None:
    values = dict(id=str(data["id"]), name=contact_name(data)[:200], email=data.get("email"),
                  account_id=data.get("account_id"), source_version=int(data.get("version") or 0),
                  updated_at=utcnow())
    stmt = _insert(session)(ContactReplica).values(deleted=False, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ContactReplica.id],
        set_={k: v for k, v in values.items() if k != "id"},
        where=ContactReplica.source_version <= values["source_version"],
    )
    session.execute(stmt)


def mark_contact_deleted(session, data: dict) -> None:
    stmt = _insert(session)(ContactReplica).values(
        id=str(data["id"]), name="", account_id=data.get("account_id"), deleted=True, source_version=0,
        updated_at=utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=[ContactReplica.id],
                                      set_={"deleted": True, "updated_at": utcnow()})
    session.execute(stmt)


def _miss(kind: str, field: str, ident: str, reason: str | None = None):
    if reason:
        return owner_unavailable("accounts", f"the {kind} {ident}", reason,
                                 errors={field: ["Could not be verified yet; retry shortly."]})
    return Invalid(f"No {kind} with id {ident}.", errors={field: [f"No {kind} with this id."]})


def find_account(session, account_id: str, token: str | None, client: AccountsClient | None,
                 *, allow_deleted: bool = False) -> AccountReplica:
    """The account from the replica, else read once from accounts and kept; 422 if unknown."""
    account_id = str(account_id)
    account = session.get(AccountReplica, account_id)
    if account is None and client is not None:
        try:
            data = client.fetch("accounts", account_id, token)
        except AccountsUnavailable as exc:
            raise _miss("account", "account_id", account_id, str(exc)) from None
        if data is not None:
            upsert_account(session, data)
            account = session.get(AccountReplica, account_id, populate_existing=True)
    if account is None or (account.deleted and not allow_deleted):
        raise _miss("account", "account_id", account_id)
    return account


def find_contact(session, contact_id: str, token: str | None, client: AccountsClient | None,
                 *, allow_deleted: bool = False) -> ContactReplica:
    contact_id = str(contact_id)
    contact = session.get(ContactReplica, contact_id)
    if contact is None and client is not None:
        try:
            data = client.fetch("contacts", contact_id, token)
        except AccountsUnavailable as exc:
            raise _miss("contact", "primary_contact_id", contact_id, str(exc)) from None
        if data is not None:
            upsert_contact(session, data)
            contact = session.get(ContactReplica, contact_id, populate_existing=True)
    if contact is None or (contact.deleted and not allow_deleted):
        raise _miss("contact", "primary_contact_id", contact_id)
    return contact


def account_card(account: AccountReplica) -> dict:
    return {"id": account.id, "name": account.name, "tax_id": account.tax_id, "country": account.country,
            "billing_address": account.billing_address}


def contact_card(contact: ContactReplica | None) -> dict | None:
    if contact is None:
        return None
    return {"id": contact.id, "name": contact.name, "email": contact.email}

