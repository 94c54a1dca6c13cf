"""Accounts' use cases: one function per command, one transaction each."""
from __future__ import annotations

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from shared import history
from shared.auth import Principal, UserDirectory, authorize_write
from shared.db import new_id, utcnow
from shared.http import Conflict, Invalid, Merged, NotFound, PreconditionFailed, ensure_version, keyset_page

from services.accounts import schemas
from services.accounts.models import Account, Contact

ACCOUNT_FIELDS = ("name", "industry", "segment", "country", "region", "city", "website", "tax_id",
                  "billing_address", "employees", "owner_id", "parent_account_id", "tags", "notes")
CONTACT_FIELDS = ("first_name", "last_name", "nickname", "email", "phone", "title", "account_id", "role",
                  "reports_to_id", "lifecycle_stage", "owner_id", "interests", "notes")

_account_out = schemas.AccountOut()
_contact_out = schemas.ContactOut()


def account_data(account: Account) -> dict:
    return _account_out.dump(account_dict(account))


def account_dict(account: Account) -> dict:
    data = {f: getattr(account, f) for f in ("id", "version", "created_at", "updated_at", *ACCOUNT_FIELDS)}
    data["annual_revenue"] = (
        {"amount": account.annual_revenue_amount, "currency": account.annual_revenue_currency}
        if account.annual_revenue_amount is not None else None
    )
    return data


def contact_data(contact: Contact) -> dict:
    return _contact_out.dump(contact)


def _clean(data: dict) -> dict:
    return {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in data.items()}


# -- accounts ---------------------------------------------------------------

def get_account(session, account_id: str) -> Account:
    """A live account; one merged into another is a Merged problem (308 to read, 409 to write)."""
    account = session.get(Account, str(account_id))
    if account is not None and account.merged_into:
        raise Merged("account", account.id, account.merged_into)
    if account is None or account.deleted_at is not None:
        raise NotFound.of("account", account_id)
    return account


def live_account_id(session, account_id: str) -> str:
    """The account that now stands for ``account_id``: itself, or the one it
    was merged into (a late event about a merged account counts for its survivor)."""
    account_id, seen = str(account_id), set()
    account = session.get(Account, account_id)
    while account is not None and account.merged_into and account.id not in seen:
        seen.add(account.id)
        account_id = account.merged_into
        account = session.get(Account, account_id)
    return account_id


def _check_owner(session, actor: Principal, kind: str, owner_id: str, directory: UserDirectory | None) -> None:
    authorize_write(actor, kind, owner_id, directory, session)
    if owner_id != actor.id and directory is not None:
        owner = directory.get(owner_id, session=session, token=actor.token)
        if owner is None or not owner.get("active", True):
            raise Invalid("The owner is not an active user.", errors={"owner_id": ["No active user with this id."]})


def _check_parent(session, account: Account | None, parent_id: str | None) -> None:
    if parent_id is None:
        return
    seen = {account.id} if account else set()
    current = session.get(Account, parent_id)
    if current is None or current.deleted_at is not None:
        raise Invalid("The parent account does not exist.", errors={"parent_account_id": ["No account with this id."]})
    while current is not None:
        if current.id in seen:
            raise Invalid("An account cannot be its own ancestor.",
                          errors={"parent_account_id": ["This would make a cycle."]})
        seen.add(current.id)
        current = session.get(Account, current.parent_account_id) if current.parent_account_id else None


def _apply_account(account: Account, data: dict) -> None:
    for field in ACCOUNT_FIELDS:
        if field in data:
            setattr(account, field, data[field])
    if "annual_revenue" in data:
        money = data["annual_revenue"]
        account.annual_revenue_amount = money["amount"] if money else None
        account.annual_revenue_currency = money["currency"] if money else None


def create_account(uow, actor: Principal, data: dict, directory: UserDirectory | None = None) -> Account:
    data = _clean(data)
    data.setdefault("owner_id", actor.id)
    data.setdefault("tags", [])
    session = uow.session
    _check_owner(session, actor, "account", data["owner_id"], directory)
    _check_parent(session, None, data.get("parent_account_id"))
    account = Account()
    _apply_account(account, data)
    session.add(account)
    session.flush()
    history.created(uow, "accounts.account.created", account.id, account_data(account))
    return account


def update_account(uow, actor: Principal, account_id: str, changes: dict, expected: set[str] | None,
                   directory: UserDirectory | None = None) -> Account:
    changes = _clean(changes)
    session = uow.session
    account = get_account(session, account_id)
    ensure_version(account.version, expected)
    authorize_write(actor, "account", account.owner_id, directory, session)
    if "owner_id" in changes and changes["owner_id"] != account.owner_id:
        if changes["owner_id"] is None:
            raise Invalid("An account needs an owner.", errors={"owner_id": ["Field may not be null."]})
        _check_owner(session, actor, "account", changes["owner_id"], directory)
    if "parent_account_id" in changes:
        _check_parent(session, account, changes["parent_account_id"])
    if "name" in changes and not changes["name"]:
        raise Invalid("An account needs a name.", errors={"name": ["Field may not be null."]})
    before = account_data(account)
    _apply_account(account, changes)
    if not session.is_modified(account):
        return account
    flush_versioned(session)
    history.updated(uow, "accounts.account.updated", account.id, account_data(account), before=before)
    return account


def delete_account(uow, actor: Principal, account_id: str, expected: set[str] | None,
                   directory: UserDirectory | None = None) -> None:
    session = uow.session
    account = get_account(session, account_id)
    ensure_version(account.version, expected)
    authorize_write(actor, "account", account.owner_id, directory, session)
    account.deleted_at = utcnow()
    flush_versioned(session)
    history.deleted(uow, "accounts.account.deleted", account.id, {"id": account.id, "name": account.name},
                    account.deleted_at)


def flush_versioned(session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise PreconditionFailed("The resource was changed by someone else at the same moment; GET it and retry.") from None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phone_digits(column):
    """The phone's digits alone (portable: Postgres and SQLite)."""
    for separator in (" ", "-", ".", "(", ")", "+", "/"):
        column = func.replace(column, separator, "")
    return column


def list_accounts(session, args: dict) -> tuple[list[Account], str | None]:
    return keyset_page(session, account_query(args), Account.created_at, Account.id, limit=args["limit"],
                       cursor=args.get("cursor"))


def account_query(args: dict):
    """Live accounts matching a list's filters (the list pages it; export streams it)."""
    stmt = select(Account).where(Account.deleted_at.is_(None))
    for field in ("owner_id", "industry", "segment", "country", "region", "city", "parent_account_id"):
        if args.get(field):
            stmt = stmt.where(getattr(Account, field) == args[field])
    if args.get("tag"):
        stmt = stmt.where(cast(Account.tags, String).like(_like(f'"{args["tag"]}"'), escape="\\"))
    if args.get("q"):
        pattern = _like(args["q"])
        stmt = stmt.where(or_(Account.name.ilike(pattern, escape="\\"), Account.tax_id.ilike(pattern, escape="\\"),
                              Account.city.ilike(pattern, escape="\\")))
    if args.get("lifecycle_stage"):  # accounts with a contact at that stage
        stmt = stmt.where(select(Contact.id).where(Contact.account_id == Account.id, Contact.deleted_at.is_(None),
                                                   Contact.lifecycle_stage == args["lifecycle_stage"]).exists())
    return stmt


# -- contacts ---------------------------------------------------------------

def get_contact(session, contact_id: str) -> Contact:
    """A live contact; one merged into another is a Merged problem (308 to read, 409 to write)."""
    contact = session.get(Contact, str(contact_id))
    if contact is not None and contact.merged_into:
        raise Merged("contact", contact.id, contact.merged_into)
    if contact is None or contact.deleted_at is not None:
        raise NotFound.of("contact", contact_id)
    return contact


def _email_taken(session, email: str, contact_id: str | None):
    existing = session.scalar(select(Contact.id).where(
        func.lower(Contact.email) == email.lower(), Contact.deleted_at.is_(None), Contact.id != contact_id))
    raise Conflict(f"A contact with the email {email} already exists: {existing}.",
                   slug="duplicate-contact", extra={"existing_id": existing,
                                                    "errors": {"email": [f"Already used by contact {existing}."]}})


def _flush_contact(uow, contact: Contact) -> None:
    """The unique index on live e-mails decides duplicates (no race between a
    check and the insert); a clash becomes a 409 naming the existing contact."""
    try:
        uow.session.flush()
    except IntegrityError:
        uow.session.rollback()
        _email_taken(uow.session, contact.email, contact.id)
    except StaleDataError:
        raise PreconditionFailed("The resource was changed by someone else at the same moment; GET it and retry.") from None


def _check_links(session, contact: Contact | None, data: dict) -> None:
    account_id = data.get("account_id", contact.account_id if contact else None)
    if "account_id" in data and data["account_id"] is not None:
        account = session.get(Account, data["account_id"])
        if account is None or account.deleted_at is not None:
            raise Invalid("The account does not exist.", errors={"account_id": ["No account with this id."]})
    if data.get("reports_to_id") is not None:
        boss = session.get(Contact, data["reports_to_id"])
        if boss is None or boss.deleted_at is not None:
            raise Invalid("The manager contact does not exist.", errors={"reports_to_id": ["No contact with this id."]})
        if boss.account_id != account_id:
            raise Invalid("A contact reports to someone at the same account.",
                          errors={"reports_to_id": ["That contact belongs to another account."]})
        seen = {contact.id} if contact else set()
        while boss is not None:
            if boss.id in seen:
                raise Invalid("Reporting lines cannot make a cycle.", errors={"reports_to_id": ["This would make a cycle."]})
            seen.add(boss.id)
            boss = session.get(Contact, boss.reports_to_id) if boss.reports_to_id else None


def create_contact(uow, actor: Principal, data: dict, directory: UserDirectory | None = None) -> Contact:
    data = _clean(data)
    data.setdefault("owner_id", actor.id)
    data.setdefault("lifecycle_stage", "prospect")
    data.setdefault("interests", [])
    session = uow.session
    _check_owner(session, actor, "contact", data["owner_id"], directory)
    _check_links(session, None, data)
    contact = Contact(**{k: v for k, v in data.items() if k in CONTACT_FIELDS})
    contact.id = new_id()
    contact.lifecycle_changed_at = utcnow()
    session.add(contact)
    _flush_contact(uow, contact)
    history.created(uow, "accounts.contact.created", contact.id, contact_data(contact))
    return contact


def update_contact(uow, actor: Principal, contact_id: str, changes: dict, expected: set[str] | None,
                   directory: UserDirectory | None = None) -> Contact:
    changes = _clean(changes)
    session = uow.session
    contact = get_contact(session, contact_id)
    ensure_version(contact.version, expected)
    authorize_write(actor, "contact", contact.owner_id, directory, session)
    if "owner_id" in changes and changes["owner_id"] != contact.owner_id:
        if changes["owner_id"] is None:
            raise Invalid("A contact needs an owner.", errors={"owner_id": ["Field may not be null."]})
        _check_owner(session, actor, "contact", changes["owner_id"], directory)
    if "account_id" in changes and changes["account_id"] != contact.account_id and "reports_to_id" not in changes:
        changes["reports_to_id"] = None  # a reporting line does not survive a move to another company
    _check_links(session, contact, changes)
    before, snapshot = contact.lifecycle_stage, contact_data(contact)
    for field in CONTACT_FIELDS:
        if field in changes:
            setattr(contact, field, changes[field])
    if not (contact.first_name or contact.last_name or contact.email):
        raise Invalid("Give at least a first_name, a last_name or an email.",
                      errors={"first_name": ["Give at least a first_name, a last_name or an email."]})
    if not session.is_modified(contact):
        return contact
    if contact.lifecycle_stage != before:
        contact.lifecycle_changed_at = utcnow()
    _flush_contact(uow, contact)
    history.updated(uow, "accounts.contact.updated", contact.id, contact_data(contact), before=snapshot)
    if contact.lifecycle_stage != before:
        _publish_lifecycle(uow, contact, before)
    return contact


def delete_contact(uow, actor: Principal, contact_id: str, expected: set[str] | None,
                   directory: UserDirectory | None = None) -> None:
    session = uow.session
    contact = get_contact(session, contact_id)
    ensure_version(contact.version, expected)
    authorize_write(actor, "contact", contact.owner_id, directory, session)
    contact.deleted_at = utcnow()
    for report in session.scalars(select(Contact).where(Contact.reports_to_id == contact.id)):
        report.reports_to_id = contact.reports_to_id  # reports move up one level
    flush_versioned(session)
    history.deleted(uow, "accounts.contact.deleted", contact.id, {"id": contact.id, "account_id": contact.account_id},
                    contact.deleted_at)


def list_contacts(session, args: dict) -> tuple[list[Contact], str | None]:
    return keyset_page(session, contact_query(args), Contact.created_at, Contact.id, limit=args["limit"],
                       cursor=args.get("cursor"))


def contact_query(args: dict):
    """Live contacts matching a list's filters."""
    stmt = select(Contact).where(Contact.deleted_at.is_(None))
    for field in ("owner_id", "account_id", "lifecycle_stage", "role"):
        if args.get(field):
            stmt = stmt.where(getattr(Contact, field) == args[field])
    if args.get("email"):
        stmt = stmt.where(Contact.email == args["email"].strip().lower())
    if args.get("interest"):
        stmt = stmt.where(cast(Contact.interests, String).like(_like(f'"{args["interest"]}"'), escape="\\"))
    if args.get("q"):
        pattern = _like(args["q"])
        matches = [c.ilike(pattern, escape="\\") for c in
                   (Contact.first_name, Contact.last_name, Contact.email, Contact.nickname)]
        digits = "".join(ch for ch in args["q"] if ch.isdigit())
        if len(digits) >= 4 and not args["q"].strip("+()-. 0123456789"):
            matches.append(_phone_digits(Contact.phone).like(f"%{digits}%"))  # however the number was typed
        stmt = stmt.where(or_(*matches))
    return stmt


def org_chart(session, account_id: str) -> dict:
    get_account(session, account_id)
    contacts = list(session.scalars(
        select(Contact).where(Contact.account_id == str(account_id), Contact.deleted_at.is_(None))
        .order_by(Contact.last_name, Contact.first_name, Contact.id)))
    nodes = {c.id: {"id": c.id, "name": c.name, "title": c.title, "role": c.role, "reports": []} for c in contacts}
    roots = []
    for c in contacts:
        parent = nodes.get(c.reports_to_id) if c.reports_to_id else None
        (parent["reports"] if parent else roots).append(nodes[c.id])
    return {"account_id": str(account_id), "roots": roots}


# -- lifecycle ----------------------------------------------------------------

def _publish_lifecycle(uow, contact: Contact, before: str) -> None:
    uow.publish("accounts.contact.lifecycle_changed", contact.id,
                {"contact_id": contact.id, "account_id": contact.account_id, "from": before, "to": contact.lifecycle_stage})


def move_lifecycle(uow, contact: Contact, to: str) -> bool:
    """Move a contact to a lifecycle stage (no commit: callers are handlers or jobs)."""
    if contact.lifecycle_stage == to:
        return False
    before, snapshot = contact.lifecycle_stage, contact_data(contact)
    contact.lifecycle_stage = to
    contact.lifecycle_changed_at = utcnow()
    uow.session.flush()
    history.updated(uow, "accounts.contact.updated", contact.id, contact_data(contact), before=snapshot)
    _publish_lifecycle(uow, contact, before)
    return True


# -- handover -------------------------------------------------------------------

def reassign_owner(uow, from_user_id: str, to_user_id: str) -> dict[str, int]:
    """Every live account and contact of a leaving user passes to the successor."""
    session = uow.session
    moved = {"accounts": 0, "contacts": 0}
    for account in session.scalars(select(Account).where(Account.owner_id == from_user_id,
                                                         Account.deleted_at.is_(None)).order_by(Account.id)):
        before = account_data(account)
        account.owner_id = to_user_id
        session.flush()
        history.updated(uow, "accounts.account.updated", account.id, account_data(account), before=before)
        moved["accounts"] += 1
    for contact in session.scalars(select(Contact).where(Contact.owner_id == from_user_id,
                                                         Contact.deleted_at.is_(None)).order_by(Contact.id)):
        before = contact_data(contact)
        contact.owner_id = to_user_id
        session.flush()
        history.updated(uow, "accounts.contact.updated", contact.id, contact_data(contact), before=before)
        moved["contacts"] += 1
    return moved
