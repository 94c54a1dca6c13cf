"""Accounts' imports (CONTRACTS §9): accounts (matched on `tax_id` or `id`)
and contacts (matched on `email` or `id`), through the bulk path of
shared/import_bulk.py. A row is checked as the API checks a body
(AccountIn / ContactIn), then against the batch's links in a few queries."""
from __future__ import annotations

from sqlalchemy import select, text

from shared import history
from shared.db import new_id, utcnow
from shared.http import Invalid
from shared.import_bulk import BulkKind, Errors
from shared.import_csv import Spec
from shared.imports import Job, Row
from shared.imports_api import Registry

from services.accounts import schemas, service
from services.accounts.export import ACCOUNT_COLUMNS, CONTACT_COLUMNS
from services.accounts.models import IMPORT_TABLES, Account, Contact, account_keys, contact_keys

SOMEONE = "Give at least a first_name, a last_name or an email."


def _clean(data: dict) -> dict:
    return {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in data.items()}


def _live_ids(session, model, ids) -> set[str]:
    ids = {i for i in ids if i}
    if not ids:
        return set()
    return set(session.scalars(select(model.id).where(model.id.in_(ids), model.deleted_at.is_(None))))


def _refused(exc: Invalid) -> Errors:
    return exc.errors or {"row": [exc.detail]}


class AccountKind(BulkKind):
    name, record, model = "accounts", "account", Account
    match_fields = ("tax_id", "id")
    spec = Spec(ACCOUNT_COLUMNS, (*service.ACCOUNT_FIELDS, "annual_revenue"), lists=("tags",))
    _in = schemas.AccountIn()
    _out = schemas.AccountOut()

    def validate(self, data: dict) -> dict:
        return _clean(self._in.load(data, partial=True))

    def find(self, session, field: str, keys: list[str]) -> dict[str, list]:
        if field == "tax_id" and session.get_bind().dialect.name == "postgresql":
            # tax ids are not unique: imports matching on them take turns, so two never create the same one
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext('cadena.import.accounts.tax_id'))"))
        return super().find(session, field, keys)

    def create_errors(self, data: dict) -> Errors:
        return {} if data.get("name") else {"name": ["Missing data for required field."]}

    def check(self, session, job: Job, creates: list[Row], updates: list) -> dict[int, Errors]:
        errors: dict[int, Errors] = {}
        live = _live_ids(session, Account, [r.data.get("parent_account_id") for r in creates])
        for row in creates:
            if row.data.get("parent_account_id") and row.data["parent_account_id"] not in live:
                errors[row.number] = {"parent_account_id": ["No account with this id."]}
        for row, account in updates:
            try:
                service._check_parent(session, account, row.data.get("parent_account_id"))
            except Invalid as exc:
                errors[row.number] = _refused(exc)
        return errors

    def values(self, data: dict, job: Job, now) -> dict:
        values = {f: data.get(f) for f in service.ACCOUNT_FIELDS}
        money = data.get("annual_revenue")
        values.update(id=new_id(), owner_id=data.get("owner_id") or job.importer.id, tags=data.get("tags") or [],
                      annual_revenue_amount=money["amount"] if money else None,
                      annual_revenue_currency=money["currency"] if money else None,
                      version=1, created_at=now, updated_at=now, deleted_at=None,
                      **account_keys(values["tax_id"], values["country"], values["website"], values["name"]))
        return values

    def created(self, uow, job: Job, rows: list[dict]) -> None:
        history.created_many(uow, "accounts.account.created", [(r["id"], self._out.dump(self._shown(r))) for r in rows],
                             actor_id=job.importer.id, correlation_id=job.id)

    @staticmethod
    def _shown(values: dict) -> dict:
        money = ({"amount": values["annual_revenue_amount"], "currency": values["annual_revenue_currency"]}
                 if values["annual_revenue_amount"] is not None else None)
        return {**values, "annual_revenue": money}

    def update(self, uow, job: Job, account: Account, data: dict) -> None:
        before = service.account_data(account)
        service._apply_account(account, data)
        if uow.session.is_modified(account):
            uow.session.flush()
            history.updated(uow, "accounts.account.updated", account.id, service.account_data(account),
                            before=before, actor_id=job.importer.id)

    def undo(self, uow, ids: list[str]) -> int:
        accounts = list(uow.session.scalars(select(Account).where(Account.id.in_(ids), Account.deleted_at.is_(None))))
        for account in accounts:
            account.deleted_at = utcnow()
        uow.session.flush()
        uow.publish_many("accounts.account.deleted", [(a.id, {"id": a.id, "name": a.name}) for a in accounts])
        return len(accounts)


class ContactKind(BulkKind):
    name, record, model = "contacts", "contact", Contact
    match_fields = ("email", "id")
    unique = ("email",)
    spec = Spec(CONTACT_COLUMNS, service.CONTACT_FIELDS, lists=("interests",))
    _in = schemas.ContactIn()

    def validate(self, data: dict) -> dict:
        return _clean(self._in.load(data, partial=True))

    def create_errors(self, data: dict) -> Errors:
        return {} if any(data.get(k) for k in ("first_name", "last_name", "email")) else {"first_name": [SOMEONE]}

    def check(self, session, job: Job, creates: list[Row], updates: list) -> dict[int, Errors]:
        errors: dict[int, Errors] = {}
        accounts = _live_ids(session, Account, [r.data.get("account_id") for r in creates])
        wanted = {r.data["reports_to_id"] for r in creates if r.data.get("reports_to_id")}
        bosses = dict(session.execute(select(Contact.id, Contact.account_id).where(
            Contact.id.in_(wanted), Contact.deleted_at.is_(None))).all()) if wanted else {}
        for row in creates:
            found: Errors = {}
            if row.data.get("account_id") and row.data["account_id"] not in accounts:
                found["account_id"] = ["No account with this id."]
            boss = row.data.get("reports_to_id")
            if boss and boss not in bosses:
                found["reports_to_id"] = ["No contact with this id."]
            elif boss and bosses[boss] != row.data.get("account_id"):
                found["reports_to_id"] = ["That contact belongs to another account."]
            if found:
                errors[row.number] = found
        for row, contact in updates:
            try:
                service._check_links(session, contact, self._changes(contact, row.data))
            except Invalid as exc:
                errors[row.number] = _refused(exc)
        return errors

    @staticmethod
    def _changes(contact: Contact, data: dict) -> dict:
        changes = dict(data)
        if changes.get("account_id", contact.account_id) != contact.account_id and "reports_to_id" not in changes:
            changes["reports_to_id"] = None  # a reporting line does not survive a move to another company
        return changes

    def values(self, data: dict, job: Job, now) -> dict:
        values = {f: data.get(f) for f in service.CONTACT_FIELDS}
        values.update(id=new_id(), owner_id=data.get("owner_id") or job.importer.id,
                      lifecycle_stage=data.get("lifecycle_stage") or "prospect", interests=data.get("interests") or [],
                      version=1, created_at=now, updated_at=now, deleted_at=None, lifecycle_changed_at=now,
                      **contact_keys(values["email"], values["phone"], values["first_name"], values["last_name"]))
        return values

    def created(self, uow, job: Job, rows: list[dict]) -> None:
        history.created_many(uow, "accounts.contact.created", [(r["id"], contact_payload(r)) for r in rows],
                             actor_id=job.importer.id, correlation_id=job.id)

    def update(self, uow, job: Job, contact: Contact, data: dict) -> None:
        before, snapshot = contact.lifecycle_stage, service.contact_data(contact)
        for field, value in self._changes(contact, data).items():
            setattr(contact, field, value)
        if not uow.session.is_modified(contact):
            return
        if contact.lifecycle_stage != before:
            contact.lifecycle_changed_at = utcnow()
        uow.session.flush()
        history.updated(uow, "accounts.contact.updated", contact.id, service.contact_data(contact), before=snapshot,
                        actor_id=job.importer.id)
        if contact.lifecycle_stage != before:
            service._publish_lifecycle(uow, contact, before)

    def undo(self, uow, ids: list[str]) -> int:
        session = uow.session
        contacts = list(session.scalars(select(Contact).where(Contact.id.in_(ids), Contact.deleted_at.is_(None))))
        gone = {c.id: c for c in contacts}
        for contact in contacts:
            contact.deleted_at = utcnow()
        moved = list(session.scalars(select(Contact).where(Contact.reports_to_id.in_(list(gone)),
                                                           Contact.deleted_at.is_(None)))) if gone else []
        snapshots = {report.id: service.contact_data(report) for report in moved}
        for report in moved:  # reports move up past what is undone, as when one contact is deleted
            boss = gone.get(report.reports_to_id)
            while boss is not None and boss.reports_to_id in gone:
                boss = gone[boss.reports_to_id]
            report.reports_to_id = boss.reports_to_id if boss else None
        session.flush()
        uow.publish_many("accounts.contact.deleted", [(c.id, {"id": c.id, "account_id": c.account_id}) for c in contacts])
        for report in moved:
            history.updated(uow, "accounts.contact.updated", report.id, service.contact_data(report),
                            before=snapshots[report.id])
        return len(contacts)


def contact_payload(values: dict) -> dict:
    """What ContactOut dumps for a new contact's row (``service.contact_data``),
    built directly: a bulk write makes thousands (a test holds the two equal)."""
    data = {"id": values["id"], "version": values["version"], "created_at": _rfc3339(values["created_at"]),
            "updated_at": _rfc3339(values["updated_at"])}
    data.update((f, values.get(f)) for f in service.CONTACT_FIELDS)
    data["name"] = _name(values)
    return data


def _rfc3339(moment) -> str:
    return moment.isoformat()


def _name(values: dict) -> str:
    return " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p) or (values.get("email") or "")


REGISTRY = Registry(IMPORT_TABLES, {"accounts": AccountKind(), "contacts": ContactKind()})
