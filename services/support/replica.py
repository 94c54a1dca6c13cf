"""Support's copy of accounts and contacts, fed by accounts' events.

It validates the links of a case and matches an e-mail sender to a contact.
On a miss (an account created a moment ago whose event has not arrived yet)
the accounts service is asked once, with the caller's token and a short
timeout, and the answer is kept.
"""
from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from shared.db import utcnow
from shared.observability import get_logger
from shared.peer import PeerUnavailable, fetch_record, owner_unavailable

from services.support.models import AccountReplica, ContactReplica

log = get_logger("cadena.support.replica")


def _insert(session, table):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _upsert(session, model, values: dict) -> None:
    """Insert or update, never going back to an older version; a deleted row stays deleted."""
    table = model.__table__
    values = {**values, "updated_at": utcnow()}
    stmt = _insert(session, table).values(deleted=False, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={k: stmt.excluded[k] for k in values if k != "id"},
        where=table.c.version <= stmt.excluded.version,
    )
    session.execute(stmt)


def upsert_account(session, data: dict) -> None:
    _upsert(session, AccountReplica, {"id": str(data["id"]), "name": data.get("name"),
                                      "owner_id": data.get("owner_id"), "version": int(data.get("version") or 0)})


def upsert_contact(session, data: dict) -> None:
    email = data.get("email")
    _upsert(session, ContactReplica, {
        "id": str(data["id"]), "email": email.strip().lower() if email else None,
        "name": data.get("name") or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p) or None,
        "account_id": data.get("account_id"), "version": int(data.get("version") or 0)})


def mark_deleted(session, model, record_id: str) -> None:
    table = model.__table__
    stmt = _insert(session, table).values(id=str(record_id), version=0, deleted=True, updated_at=utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.id], set_={"deleted": True, "updated_at": utcnow()})
    session.execute(stmt)


class AccountsLookup:
    """Accounts and contacts by id (and contacts by e-mail): replica first, then the accounts service."""

    def __init__(self, accounts_url: str, timeout: float = 1.5):
        self.accounts_url = accounts_url.rstrip("/")
        self.timeout = timeout

    def account(self, session, account_id: str, token: str | None) -> AccountReplica | None:
        row = session.get(AccountReplica, str(account_id))
        if row is None:
            data = self._fetch(f"/api/v1/accounts/{quote(str(account_id))}", token)
            if data and data.get("id"):
                upsert_account(session, data)
                session.flush()
                row = session.get(AccountReplica, str(account_id), populate_existing=True)
        return row if row is not None and not row.deleted else None

    def contact(self, session, contact_id: str, token: str | None) -> ContactReplica | None:
        row = session.get(ContactReplica, str(contact_id))
        if row is None:
            data = self._fetch(f"/api/v1/contacts/{quote(str(contact_id))}", token)
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
        if row is not None:
            return row
        # Matching a sender is best effort: with accounts away the case opens without a contact.
        page = self._fetch(f"/api/v1/contacts?limit=1&email={quote(address)}", token, vouch=False)
        items = (page or {}).get("items") or []
        if not items or not items[0].get("id"):
            return None
        upsert_contact(session, items[0])
        session.flush()
        row = session.get(ContactReplica, str(items[0]["id"]), populate_existing=True)
        return row if row is not None and not row.deleted else None

    def _fetch(self, path: str, token: str | None, *, vouch: bool = True) -> dict | None:
        """The record; None when accounts says there is none. When accounts
        cannot be asked: 503 if the answer must be vouched for, else None."""
        if not token:
            return None
        try:
            return fetch_record(self.accounts_url + path, token, timeout=self.timeout, connect_timeout=0.5)
        except PeerUnavailable as exc:
            log.warning("accounts_lookup_failed", path=path.split("?")[0], reason=exc.reason)
            if not vouch:
                return None
            kind, ident = path.rsplit("/", 2)[-2:]
            raise owner_unavailable("accounts", f"the {kind.rstrip('s')} {ident}", exc.reason) from None
