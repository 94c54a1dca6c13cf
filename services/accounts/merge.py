"""Merging duplicates (CONTRACTS §9, "Merge"; docs/merge.md): one
record survives and the others fold into it, in one transaction.

- The survivor keeps its own values, except the fields the request takes
  from a merged record (``fields``: field → the id whose value wins).
- The merged records stay, marked ``merged_into`` (out of lists; a GET
  answers 308 to the survivor, a write 409): nothing is deleted.
- What accounts owns follows in the same transaction, each changed record
  publishing its ``.updated``: a merged account's contacts and child accounts
  move to the survivor, contacts that reported to a merged contact report to
  the survivor, and the account view is counted again for the survivor.
- ``accounts.<kind>.merged`` {survivor_id, merged_ids} then tells every
  other service to re-point what it holds.
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from shared import history
from shared.auth import Principal, UserDirectory, authorize_write
from shared.db import utcnow
from shared.http import Conflict, Invalid, Merged, NotFound, ensure_version

from services.accounts import service
from services.accounts.models import Account, AccountView, Contact, ViewCase, ViewOpportunity
from services.accounts.on_activities import touch_last_activity
from services.accounts.on_opportunities import recompute
from services.accounts.on_support import recount

CONTACT_MERGEABLE = service.CONTACT_FIELDS
ACCOUNT_MERGEABLE = (*service.ACCOUNT_FIELDS, "annual_revenue")
MAX_MERGED = 20


# -- the request ------------------------------------------------------------------

def choose(survivor_id, merge_ids, fields: dict | None, mergeable) -> dict[str, str]:
    """Check a merge request (422 otherwise) and return the fields the survivor
    takes from a merged record: {field: id of the record whose value wins}."""
    survivor_id, ids = str(survivor_id), [str(i) for i in merge_ids or ()]
    problems: list[str] = []
    if not ids:
        problems.append("Name at least one record to merge into this one.")
    if len(set(ids)) != len(ids):
        problems.append("Name each record once.")
    if survivor_id in ids:
        problems.append("A record cannot be merged into itself.")
    errors: dict[str, list[str]] = {"merge_ids": problems} if problems else {}
    taken = {}
    for field, source in (fields or {}).items():
        source = str(source)
        if field not in mergeable:
            errors[f"fields.{field}"] = [f"Not a field a merge can choose; one of: {', '.join(mergeable)}."]
        elif source != survivor_id and source not in ids:
            errors[f"fields.{field}"] = ["Must be the id of the surviving record or of one being merged."]
        elif source != survivor_id:
            taken[field] = source
    if errors:
        raise Invalid("The merge request is not valid; see errors.", errors=errors)
    return taken


def _gather(uow, model, kind: str, survivor_id: str, ids: list[str]):
    """The survivor and the records to merge, locked in one order (two merges
    of the same records queue; the second then finds them merged)."""
    stmt = (select(model).where(model.id.in_(sorted({survivor_id, *ids}))).order_by(model.id)
            .execution_options(populate_existing=True))
    if uow.db.is_postgres:
        stmt = stmt.with_for_update()
    rows = {r.id: r for r in uow.session.scalars(stmt)}
    unknown = [i for i in ids if i not in rows or (rows[i].deleted_at is not None and not rows[i].merged_into)]
    if unknown:
        raise Invalid(f"No live {kind} with id {', '.join(unknown)}; only live records can be merged.",
                      errors={"merge_ids": [f"No {kind} with id {i}." for i in unknown]})
    survivor = rows.get(survivor_id)
    if survivor is not None and survivor.merged_into:
        raise Merged(kind, survivor.id, survivor.merged_into)
    if survivor is None or survivor.deleted_at is not None:
        raise NotFound.of(kind, survivor_id)
    done = {i: rows[i].merged_into for i in ids if rows[i].merged_into}
    if done:
        raise Conflict(" ".join(f"The {kind} {i} was already merged into {s}." for i, s in done.items()),
                       slug="already-merged", extra={"merged_into": done},
                       errors={"merge_ids": [f"{i} was already merged into {s}." for i, s in done.items()]})
    return survivor, [rows[i] for i in ids]


def _allowed(uow, actor: Principal, kind: str, records, directory: UserDirectory | None) -> None:
    """A merge changes every record involved: the caller must be allowed to change each."""
    for record in records:
        authorize_write(actor, kind, record.owner_id, directory, uow.session)


def _fold(uow, model, survivor, others) -> None:
    """Mark the merged records (kept, out of lists: deleted_at also frees a
    merged contact's e-mail for the survivor); records merged earlier into one
    of them now point straight to the survivor."""
    now = utcnow()
    ids = [o.id for o in others]
    for other in others:
        other.merged_into, other.merged_at = survivor.id, now
        other.deleted_at = other.deleted_at or now
    service.flush_versioned(uow.session)
    uow.session.execute(update(model).where(model.merged_into.in_(ids)).values(merged_into=survivor.id)
                        .execution_options(synchronize_session=False))


def _merged_event(survivor_id: str, others, account_id, taken: dict, actor: Principal) -> dict:
    return {"survivor_id": survivor_id, "merged_ids": [o.id for o in others], "account_id": account_id,
            "fields": taken, "actor_id": actor.id}


# -- contacts ---------------------------------------------------------------------

def merge_contacts(uow, actor: Principal, survivor_id, data: dict, expected: set[str] | None,
                   directory: UserDirectory | None = None) -> Contact:
    taken = choose(survivor_id, data.get("merge_ids"), data.get("fields"), CONTACT_MERGEABLE)
    survivor, others = _gather(uow, Contact, "contact", str(survivor_id), [str(i) for i in data["merge_ids"]])
    ensure_version(survivor.version, expected)
    _allowed(uow, actor, "contact", [survivor, *others], directory)
    by_id = {o.id: o for o in others}
    changes = {field: getattr(by_id[source], field) for field, source in taken.items()}
    boss = changes.get("reports_to_id", survivor.reports_to_id)
    if boss in by_id or boss == survivor.id:
        changes["reports_to_id"] = None  # nobody reports to themselves
    _fold(uow, Contact, survivor, others)
    survivor.updated_at = utcnow()  # it changes even when no field does: it took the others in
    survivor = service.update_contact(uow, actor, survivor.id, changes, None, directory)
    _repoint_reports(uow, survivor, set(by_id))
    uow.publish("accounts.contact.merged", survivor.id,
                _merged_event(survivor.id, others, survivor.account_id, taken, actor))
    return survivor


def _reports_up_to(session, start: Contact, target_id: str) -> bool:
    """Whether ``target_id`` is ``start`` or above it in the reporting line."""
    seen, current = set(), start
    while current is not None and current.id not in seen:
        if current.id == target_id:
            return True
        seen.add(current.id)
        current = session.get(Contact, current.reports_to_id) if current.reports_to_id else None
    return False


def _repoint_reports(uow, survivor: Contact, gone: set[str]) -> None:
    """Whoever reported to a merged contact reports to the survivor — when the
    survivor works at the same account and it makes no cycle; otherwise the
    line ends there (as when a contact moves to another company)."""
    session = uow.session
    stmt = (select(Contact).where(Contact.reports_to_id.in_(gone), Contact.deleted_at.is_(None),
                                  Contact.id != survivor.id).order_by(Contact.id))
    for contact in session.scalars(stmt).all():
        fits = contact.account_id == survivor.account_id and not _reports_up_to(session, survivor, contact.id)
        before = service.contact_data(contact)
        contact.reports_to_id = survivor.id if fits else None
        service.flush_versioned(session)
        history.updated(uow, "accounts.contact.updated", contact.id, service.contact_data(contact), before=before)


# -- accounts ---------------------------------------------------------------------

def merge_accounts(uow, actor: Principal, survivor_id, data: dict, expected: set[str] | None,
                   directory: UserDirectory | None = None) -> Account:
    taken = choose(survivor_id, data.get("merge_ids"), data.get("fields"), ACCOUNT_MERGEABLE)
    survivor, others = _gather(uow, Account, "account", str(survivor_id), [str(i) for i in data["merge_ids"]])
    ensure_version(survivor.version, expected)
    _allowed(uow, actor, "account", [survivor, *others], directory)
    by_id = {o.id: o for o in others}
    changes = {field: service.account_dict(by_id[source])[field] for field, source in taken.items()}
    _fold(uow, Account, survivor, others)
    _move_contacts(uow, survivor.id, set(by_id))
    _move_children(uow, survivor.id, set(by_id))
    parent = _parent_after(uow.session, survivor, changes.get("parent_account_id", survivor.parent_account_id), by_id)
    if parent != survivor.parent_account_id:
        changes["parent_account_id"] = parent
    else:
        changes.pop("parent_account_id", None)
    survivor.updated_at = utcnow()  # it changes even when no field does: it took the others in
    survivor = service.update_account(uow, actor, survivor.id, changes, None, directory)
    _recount_view(uow, survivor, set(by_id))
    uow.publish("accounts.account.merged", survivor.id,
                _merged_event(survivor.id, others, survivor.id, taken, actor))
    return survivor


def _move_contacts(uow, survivor_id: str, gone: set[str]) -> None:
    """A merged account's contacts work for the survivor now (their reporting lines move with them)."""
    session = uow.session
    for contact in session.scalars(select(Contact).where(Contact.account_id.in_(gone), Contact.deleted_at.is_(None))
                                   .order_by(Contact.id)).all():
        before = service.contact_data(contact)
        contact.account_id = survivor_id
        service.flush_versioned(session)
        history.updated(uow, "accounts.contact.updated", contact.id, service.contact_data(contact), before=before)


def _move_children(uow, survivor_id: str, gone: set[str]) -> None:
    session = uow.session
    for child in session.scalars(select(Account).where(Account.parent_account_id.in_(gone),
                                                       Account.deleted_at.is_(None), Account.id != survivor_id)
                                 .order_by(Account.id)).all():
        before = service.account_data(child)
        child.parent_account_id = survivor_id
        service.flush_versioned(session)
        history.updated(uow, "accounts.account.updated", child.id, service.account_data(child), before=before)


def _parent_after(session, survivor: Account, parent: str | None, by_id: dict[str, Account]) -> str | None:
    """The survivor's parent: a merged one is replaced by its own parent; none
    at all when the survivor would become its own ancestor."""
    seen = set()
    while parent in by_id and parent not in seen:
        seen.add(parent)
        parent = by_id[parent].parent_account_id
    if parent is None or parent in by_id:
        return None
    current, seen = session.get(Account, parent), set()
    while current is not None and current.id not in seen:
        if current.id == survivor.id:
            return None
        seen.add(current.id)
        current = session.get(Account, current.parent_account_id) if current.parent_account_id else None
    return parent


def _recount_view(uow, survivor: Account, gone: set[str]) -> None:
    """The account view of the survivor counts the merged accounts' deals,
    cases and activity too (their rows move; the sums are counted again)."""
    session = uow.session
    for model in (ViewOpportunity, ViewCase):
        session.execute(update(model).where(model.account_id.in_(gone)).values(account_id=survivor.id)
                        .execution_options(synchronize_session=False))
    last_activity, last_won = session.execute(
        select(func.max(AccountView.last_activity_at), func.max(AccountView.last_won_at))
        .where(AccountView.account_id.in_(gone))).one()
    recompute(uow, survivor.id, survivor.annual_revenue_currency or "EUR", last_won)
    recount(session, survivor.id)
    if last_activity is not None:
        touch_last_activity(uow, survivor.id, last_activity)
