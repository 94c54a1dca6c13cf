"""The records an activity links to (accounts, contacts, opportunities,
cases) belong to other services. Activities keeps a replica of them from
their events; on a miss — say an account created a moment ago — it reads the
record once from its owner, forwarding the caller's token, with a short
timeout, and keeps it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from shared import config
from shared.auth import Principal
from shared.observability import get_logger
from shared.peer import PeerUnavailable, fetch_record
from shared.replica import Replica, held

from services.activities.models import LinkedRecord

log = get_logger("cadena.activities.links")

# field → (kind, owning service, path of the record there)
LINKS: dict[str, tuple[str, str, str]] = {
    "account_id": ("account", "accounts", "/api/v1/accounts/{id}"),
    "contact_id": ("contact", "accounts", "/api/v1/contacts/{id}"),
    "opportunity_id": ("opportunity", "opportunities", "/api/v1/opportunities/{id}"),
    "case_id": ("case", "support", "/api/v1/cases/{id}"),
}
KIND_SERVICE = {kind: service for kind, service, _ in LINKS.values()}
KIND_PATH = {kind: path for kind, _, path in LINKS.values()}


class Unverifiable(Exception):
    """The owning service could not say whether the record exists."""

    def __init__(self, service: str, reason: str):
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


@dataclass(frozen=True)
class Record:
    kind: str
    id: str
    account_id: str | None
    label: str | None
    address: str | None
    version: int = 0


def _text(value, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def record_from(kind: str, data: dict) -> Record:
    """The little we keep of another service's record (from an event or a read)."""
    rid = str(data.get("id") or data.get(f"{kind}_id") or "")
    version = int(data.get("version") or 0)
    if kind == "account":
        addr = data.get("billing_address") or {}
        parts = [addr.get("street"), " ".join(p for p in (addr.get("postal_code"), addr.get("city") or data.get("city")) if p),
                 addr.get("country") or data.get("country")]
        return Record(kind, rid, rid, _text(data.get("name"), 300), _text(", ".join(p for p in parts if p), 400),
                      version)
    if kind == "contact":
        name = data.get("name") or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p) \
            or data.get("email")
        return Record(kind, rid, data.get("account_id"), _text(name, 300), None, version)
    if kind == "opportunity":
        account = data.get("account_id") or (data.get("account") or {}).get("id")
        return Record(kind, rid, account, _text(data.get("name"), 300), None, version)
    if kind == "case":
        number = data.get("number")
        label = f"#{number} {data.get('subject') or ''}".strip() if number is not None else data.get("subject")
        return Record(kind, rid, data.get("account_id"), _text(label, 300), None, version)
    raise ValueError(f"unknown kind {kind}")


LINKED = Replica(LinkedRecord.__table__, key=("kind", "id"), keep=("label", "address"))


def upsert(session, is_postgres: bool, record: Record, *, deleted: bool = False) -> None:
    """Keep a record (an event that lacks a name or address keeps the one we
    knew; an older version never overwrites a newer one); or its tombstone."""
    key = {"kind": record.kind, "id": record.id}
    if deleted:  # a deletion event carries little: keep what we knew
        LINKED.mark_deleted(session, key, account_id=record.account_id, label=record.label)
        return
    LINKED.upsert(session, linked_values(record))


def linked_values(record: Record) -> dict:
    return {"kind": record.kind, "id": record.id, "account_id": record.account_id, "label": record.label,
            "address": record.address, "version": record.version}


Fetch = Callable[[str, str, Principal], "dict | None"]


class Links:
    """Finds linked records: the replica first, then the owning service."""

    def __init__(self, urls: dict[str, str] | None = None, timeout: float = 2.0, fetch: Fetch | None = None):
        self.urls = urls if urls is not None else {s: config.service_url(s) for s in set(KIND_SERVICE.values())}
        self.timeout = timeout
        self.fetch = fetch or self._fetch_http

    def find(self, session, is_postgres: bool, kind: str, record_id: str, principal: Principal) -> LinkedRecord | None:
        """The record, None if it does not exist (or was deleted); Unverifiable
        when its owner cannot be asked."""
        row = held(session, LinkedRecord, (kind, str(record_id)))
        if row is not None:
            return None if row.deleted else row
        data = self.fetch(kind, str(record_id), principal)
        if data is None:
            return None
        record = record_from(kind, {**data, "id": str(record_id)})
        upsert(session, is_postgres, record)
        return session.get(LinkedRecord, (kind, str(record_id)), populate_existing=True)

    def _fetch_http(self, kind: str, record_id: str, principal: Principal) -> dict | None:
        service = KIND_SERVICE[kind]
        try:
            return fetch_record(self.urls[service] + KIND_PATH[kind].format(id=record_id), principal.token,
                                timeout=self.timeout)
        except PeerUnavailable as exc:
            log.warning("link_unverifiable", service=service, kind=kind, reason=exc.reason)
            raise Unverifiable(service, exc.reason) from None
