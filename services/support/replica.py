"""Support's copy of accounts and contacts, fed by accounts' events.

It validates the links of a case and matches an e-mail sender to a contact.
On a miss (an account created a moment ago whose event has not arrived yet)
the accounts service is asked once, with the caller's token and a short
timeout, and the answer is kept.
"""
from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select

from shared.replica import ReadThrough, Replica, held

from services.support.models import AccountReplica, ContactReplica

ACCOUNTS = Replica(AccountReplica.__table__)
CONTACTS = Replica(ContactReplica.__table__)
_REPLICAS = {AccountReplica: ACCOUNTS, ContactReplica: CONTACTS}


def account_values(data: dict) -> dict:
    return {"id": str(data["id"]), "name": data.get("name"), "owner_id": data.get("owner_id"),
            "version": int(data.get("version") or 0)}


def contact_values(data: dict) -> dict:
    email = data.get("email")
    return {"id": str(data["id"]), "email": email.strip().lower() if email else None,
            "name": data.get("name") or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
            or None,
            "account_id": data.get("account_id"), "version": int(data.get("version") or 0)}


def upsert_account(session, data: dict) -> None:
    ACCOUNTS.upsert(session, account_values(data))


def upsert_contact(session, data: dict) -> None:
    CONTACTS.upsert(session, contact_values(data))


def mark_deleted(session, model, record_id: str) -> None:
    _REPLICAS[model].mark_deleted(session, {"id": str(record_id)})


class AccountsLookup(ReadThrough):
    """Accounts and contacts by id (and contacts by e-mail): replica first, then the accounts service."""

    def __init__(self, accounts_url: str, timeout: float = 1.5):
        super().__init__("accounts", accounts_url, timeout=timeout, connect_timeout=0.5)

    def account(self, session, account_id: str, token: str | None) -> AccountReplica | None:
        row = held(session, AccountReplica, str(account_id))
        if row is None and token:
            data = self.fetch(f"/api/v1/accounts/{quote(str(account_id))}", token,
                              what=f"the account {account_id}", field="account_id", missing=(404,))
            if data and data.get("id"):
                upsert_account(session, data)
                session.flush()
                row = session.get(AccountReplica, str(account_id), populate_existing=True)
        return row if row is not None and not row.deleted else None

    def contact(self, session, contact_id: str, token: str | None) -> ContactReplica | None:
        row = held(session, ContactReplica, str(contact_id))
        if row is None and token:
            data = self.fetch(f"/api/v1/contacts/{quote(str(contact_id))}", token,
                              what=f"the contact {contact_id}", field="contact_id", missing=(404,))
            if data and data.get("id"):
                upsert_contact(session, data)
                session.flush()
                row = session.get(ContactReplica, str(contact_id), populate_existing=True)
        return row if row is not None and not row.deleted else None

    def contact_by_email(self, session, address: str, token: str | None) -> ContactReplica | None:
        address = address.strip().lower()
        row = session.scalars(select(ContactReplica).where(ContactReplica.email == address,
                                                           ContactReplica.deleted.is_(False))
                              .order_by(ContactReplica.version.desc()).limit(1)).first()
        if row is not None or not token:
            return row
        # Matching a sender is best effort: with accounts away the case opens without a contact.
        page = self.try_fetch(f"/api/v1/contacts?limit=1&email={quote(address)}", token)
        items = (page or {}).get("items") or []
        if not items or not items[0].get("id"):
            return None
        upsert_contact(session, items[0])
        session.flush()
        row = session.get(ContactReplica, str(items[0]["id"]), populate_existing=True)
        return row if row is not None and not row.deleted else None
