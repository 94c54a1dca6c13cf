"""Support's use cases: one function per command, one transaction each."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm.exc import StaleDataError

from shared import history
from shared.auth import Principal, UserDirectory, authorize_write
from shared.db import dialect_of, utcnow
from shared.http import Conflict, Invalid, NotFound, PreconditionFailed, ensure_version, keyset_page
from shared.observability import get_logger

from services.support import rules, schemas, sla_calendar
from services.support.models import Case, CaseComment, Counter, SlaPolicy
from services.support.replica import AccountsLookup

log = get_logger("cadena.support")

CASE_FIELDS = ("subject", "description", "account_id", "contact_id", "channel", "priority", "status", "assignee_id")
ASSIGNEE_ROLES = ("support", "manager", "admin")

_case_out = schemas.CaseOut()
_comment_out = schemas.CaseCommentOut()


def case_data(case: Case) -> dict:
    """The full case, as the API shows it and events carry it."""
    return _case_out.dump(case)


def comment_data(comment: CaseComment) -> dict:
    return _comment_out.dump(comment)


def _clean(data: dict) -> dict:
    return {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in data.items()}


def _flush(session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise PreconditionFailed("The case was changed by someone else at the same moment; GET it and retry.") from None


# -- reading ------------------------------------------------------------------

def get_case(session, case_id, *, lock: bool = False) -> Case:
    """A live case; ``lock`` holds its row for the rest of the transaction (Postgres)."""
    case = session.get(Case, str(case_id), with_for_update=lock or None, populate_existing=lock)
    if case is None or case.deleted_at is not None:
        raise NotFound.of("case", case_id)
    return case


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_cases(session, args: dict) -> tuple[list[Case], str | None]:
    return keyset_page(session, case_query(args), Case.created_at, Case.id, limit=args["limit"],
                       cursor=args.get("cursor"))


def case_query(args: dict):
    """Live cases matching a list's filters (the list pages it; export streams it)."""
    stmt = select(Case).where(Case.deleted_at.is_(None))
    statuses = [s.strip() for s in (args.get("status") or "").split(",") if s.strip()]
    if statuses:
        stmt = stmt.where(Case.status.in_(statuses))
    for field in ("priority", "channel", "assignee_id", "account_id", "contact_id", "number"):
        if args.get(field) is not None:
            stmt = stmt.where(getattr(Case, field) == args[field])
    if args.get("sla_breached") is not None:
        breached = or_(Case.first_response_breached_at.is_not(None), Case.resolution_breached_at.is_not(None))
        stmt = stmt.where(breached if args["sla_breached"] else ~breached)
    if args.get("q"):
        stmt = stmt.where(Case.subject.ilike(_like(args["q"]), escape="\\"))
    return stmt


def list_comments(session, case_id, args: dict) -> tuple[list[CaseComment], str | None]:
    case = get_case(session, case_id)
    stmt = select(CaseComment).where(CaseComment.case_id == case.id, CaseComment.deleted_at.is_(None))
    if args.get("public") is not None:
        stmt = stmt.where(CaseComment.public.is_(args["public"]))
    return keyset_page(session, stmt, CaseComment.created_at, CaseComment.id,
                       limit=args["limit"], cursor=args.get("cursor"))


# -- SLA policy ---------------------------------------------------------------

def sla_policy(session) -> dict[str, dict[str, int]]:
    policy = {p: dict(t) for p, t in rules.DEFAULT_POLICY.items()}
    for row in session.scalars(select(SlaPolicy)):
        if row.priority in policy:
            policy[row.priority] = {"first_response_seconds": row.first_response_seconds,
                                    "resolution_seconds": row.resolution_seconds}
    return policy


# -- cases --------------------------------------------------------------------

def next_number(session) -> int:
    """The next case number: the counter row is updated in the creating
    transaction, so concurrent creators queue on it (no duplicates, no gaps)."""
    table = Counter.__table__
    bump = update(table).where(table.c.name == "cases").values(value=table.c.value + 1).returning(table.c.value)
    number = session.execute(bump).scalar()
    if number is None:  # a database created without the migration's seed row
        dialect = dialect_of(session)
        session.execute(dialect.insert(table).values(name="cases", value=0).on_conflict_do_nothing())
        number = session.execute(bump).scalar()
    return int(number)


def _check_assignee(session, actor: Principal, assignee_id: str, directory: UserDirectory | None) -> None:
    authorize_write(actor, "case", assignee_id, directory, session)
    if assignee_id == actor.id or directory is None:
        return
    user = directory.get(assignee_id, session=session, token=actor.token)
    if user is None or not user.get("active", True):
        raise Invalid("The assignee is not an active user.", errors={"assignee_id": ["No active user with this id."]})
    if user.get("role") not in ASSIGNEE_ROLES:
        raise Invalid("Cases are assigned to support users or managers.",
                      errors={"assignee_id": [f"A {user.get('role')} user cannot be assigned cases."]})


def _check_links(session, actor: Principal, accounts: AccountsLookup, account_id: str | None,
                 contact_id: str | None) -> str | None:
    """Validate the account and contact; return the account to use (a contact's own by default)."""
    if contact_id is not None:
        contact = accounts.contact(session, contact_id, actor.token)
        if contact is None:
            raise Invalid("The contact does not exist.", errors={"contact_id": ["No contact with this id."]})
        if account_id is None:
            account_id = contact.account_id
        elif contact.account_id and contact.account_id != account_id:
            raise Invalid("The contact belongs to another account.",
                          errors={"contact_id": [f"This contact belongs to account {contact.account_id}."]})
    if account_id is not None and accounts.account(session, account_id, actor.token) is None:
        raise Invalid("The account does not exist.", errors={"account_id": ["No account with this id."]})
    return account_id


def _set_due_times(session, case: Case) -> None:
    case.first_response_due_at, case.resolution_due_at = rules.due_times(
        case.created_at, sla_policy(session), case.priority, sla_calendar.current(session))


def create_case(uow, actor: Principal, data: dict, directory: UserDirectory | None,
                accounts: AccountsLookup) -> Case:
    data = _clean(data)
    session = uow.session
    if "assignee_id" not in data:
        data["assignee_id"] = actor.id if actor.role in ("support", "manager") else None
    authorize_write(actor, "case", data["assignee_id"], directory, session)
    if data["assignee_id"] is not None:
        _check_assignee(session, actor, data["assignee_id"], directory)
    status = data.get("status", "new")
    if status not in rules.INITIAL_STATUSES:
        raise Invalid("A case starts as new or open.", errors={"status": ["A new case is new or open."]})
    account_id = _check_links(session, actor, accounts, data.get("account_id"), data.get("contact_id"))
    case = Case(subject=data["subject"], description=data.get("description"), account_id=account_id,
                contact_id=data.get("contact_id"), channel=data.get("channel", "web"),
                priority=data.get("priority", "normal"), status=status, assignee_id=data["assignee_id"],
                created_by=actor.id, created_at=utcnow())
    return _open_case(uow, case)


def _open_case(uow, case: Case) -> Case:
    session = uow.session
    case.updated_at = case.created_at
    _set_due_times(session, case)
    case.number = next_number(session)  # last: the counter row stays locked until commit
    session.add(case)
    session.flush()
    history.created(uow, "support.case.opened", case.id, case_data(case))
    return case


def _apply_status(case: Case, target: str, now: datetime) -> None:
    if not rules.check_transition(case.status, target):
        return
    before = case.status
    case.status = target
    if target == "resolved":
        case.resolved_at = now
    elif target == "closed":
        case.closed_at = now
        case.resolved_at = case.resolved_at or now
    elif before == "resolved":  # reopen: the resolution clock runs again, from the same due time
        case.resolved_at = None


def _breach_data(case_id, account_id, target: str, due_at: datetime, number, priority, assignee_id,
                 now: datetime) -> dict:
    return {"case_id": case_id, "account_id": account_id, "target": target, "due_at": due_at.isoformat(),
            "number": number, "priority": priority, "assignee_id": assignee_id, "breached_at": now.isoformat()}


def _record_late_stops(uow, case: Case, now: datetime, targets: tuple[str, ...]) -> None:
    """A clock stopped after its due time is a breach even if the job has not
    seen it yet (between two polls, or while the worker was down): record it
    now, in this transaction, guarded by the marker like the job's."""
    for target in targets:
        due, marker = ((case.first_response_due_at, "first_response_breached_at") if target == "first_response"
                       else (case.resolution_due_at, "resolution_breached_at"))
        if getattr(case, marker) is None and due <= now:
            setattr(case, marker, now)
            uow.publish("support.case.sla_breached", case.id, _breach_data(
                case.id, case.account_id, target, due, case.number, case.priority, case.assignee_id, now))


def _event_for(case: Case, status_before: str) -> str:
    if case.status != status_before and case.status in ("resolved", "closed"):
        return f"support.case.{case.status}"
    return "support.case.updated"


def update_case(uow, actor: Principal, case_id, changes: dict, expected: set[str] | None,
                directory: UserDirectory | None, accounts: AccountsLookup) -> Case:
    changes = _clean(changes)
    session = uow.session
    case = get_case(session, case_id, lock=True)
    ensure_version(case.version, expected)
    authorize_write(actor, "case", case.assignee_id, directory, session)
    if "status" in changes:
        try:
            rules.check_transition(case.status, changes["status"])  # before anything changes
        except rules.IllegalTransition as exc:
            raise Conflict(f"{exc} Allowed from {exc.current}: {', '.join(exc.allowed) or 'nothing (final)'}.",
                           slug="illegal-transition",
                           extra={"current_status": exc.current, "requested_status": exc.target,
                                  "allowed": exc.allowed}) from None
    if "assignee_id" in changes and changes["assignee_id"] != case.assignee_id and changes["assignee_id"] is not None:
        _check_assignee(session, actor, changes["assignee_id"], directory)
    if "account_id" in changes or "contact_id" in changes:
        account_id = changes.get("account_id", case.account_id)
        contact_id = changes.get("contact_id", case.contact_id)
        if "contact_id" in changes and "account_id" not in changes and contact_id is not None:
            account_id = None  # follow the new contact's account
        changes["account_id"] = _check_links(session, actor, accounts, account_id, contact_id)
    status_before, before = case.status, case_data(case)
    for field in ("subject", "description", "account_id", "contact_id", "channel", "assignee_id"):
        if field in changes:
            setattr(case, field, changes[field])
    if "priority" in changes and changes["priority"] != case.priority:
        case.priority = changes["priority"]
        _set_due_times(session, case)
    if "status" in changes:
        now = utcnow()
        _apply_status(case, changes["status"], now)
        if status_before in rules.OPEN_STATUSES and case.status in ("resolved", "closed"):  # the clocks stop
            _record_late_stops(uow, case, now, ("resolution",) if case.first_responded_at else
                               ("first_response", "resolution"))
    if not session.is_modified(case):
        return case
    _flush(session)
    history.updated(uow, _event_for(case, status_before), case.id, case_data(case), before=before)
    return case


def delete_case(uow, actor: Principal, case_id, expected: set[str] | None, directory: UserDirectory | None) -> None:
    session = uow.session
    case = get_case(session, case_id, lock=True)
    ensure_version(case.version, expected)
    authorize_write(actor, "case", case.assignee_id, directory, session)
    case.deleted_at = utcnow()
    _flush(session)
    history.deleted(uow, "support.case.deleted", case.id, case_data(case), case.deleted_at)


# -- comments -------------------------------------------------------------------

def _add_comment(uow, case: Case, comment: CaseComment) -> CaseComment:
    """Record a comment and what it does to the case (no commit)."""
    session = uow.session
    status_before, before = case.status, case_data(case)
    now = utcnow()
    comment.case_id = case.id
    comment.created_at = now
    if comment.public and comment.author_type == "staff":
        if case.first_responded_at is None and case.status in rules.OPEN_STATUSES:
            _record_late_stops(uow, case, now, ("first_response",))
        if case.first_responded_at is None:
            case.first_responded_at = now  # the first response: stops that clock
        if case.status == "new":
            case.status = "open"
    elif comment.author_type == "customer" and case.status in ("pending", "resolved"):
        _apply_status(case, "open", now)  # the customer answered, or the fix did not hold
    case_changed = session.is_modified(case)
    session.add(comment)
    _flush(session)
    uow.publish("support.case.commented", case.id, {
        "case_id": case.id, "number": case.number, "account_id": case.account_id, **comment_data(comment)})
    if case_changed:
        history.updated(uow, _event_for(case, status_before), case.id, case_data(case), before=before)
    return comment


def add_comment(uow, actor: Principal, case_id, data: dict) -> tuple[Case, CaseComment]:
    """A comment by staff (any non-readonly user of the API)."""
    case = get_case(uow.session, case_id, lock=True)
    if case.status == "closed":
        raise Conflict("The case is closed; open a new case instead.", slug="case-closed")
    comment = _add_comment(uow, case, CaseComment(body=data["body"], public=data.get("public", True),
                                                  author_type="staff", author_id=actor.id,
                                                  author_email=actor.email))
    return case, comment


# -- satisfaction ---------------------------------------------------------------

def rate_case(uow, actor: Principal, case_id, data: dict) -> Case:
    session = uow.session
    case = get_case(session, case_id, lock=True)
    if case.status not in rules.RATEABLE:
        raise Conflict(f"A {case.status} case cannot be rated yet; satisfaction is asked after resolution.",
                       slug="not-resolved")
    if case.satisfaction_score is not None:
        raise Conflict("This case has already been rated; a rating is given once.", slug="already-rated",
                       extra={"score": case.satisfaction_score})
    before = case_data(case)
    case.satisfaction_score = data["score"]
    case.satisfaction_comment = data.get("comment")
    case.rated_at = utcnow()
    try:
        _flush(session)
    except PreconditionFailed:  # a concurrent rating won
        raise Conflict("This case has already been rated; a rating is given once.", slug="already-rated") from None
    history.updated(uow, "support.case.satisfaction_rated", case.id, {
        "case_id": case.id, "account_id": case.account_id, "score": case.satisfaction_score,
        "comment": case.satisfaction_comment, "contact_id": case.contact_id, "number": case.number,
        "rated_at": case.rated_at.isoformat()}, before=before, after=case_data(case))
    return case


# -- handover -------------------------------------------------------------------

def reassign_cases(uow, from_user_id: str, to_user_id: str) -> dict[str, int]:
    """Every open case of a user passes to another (no commit: a handler)."""
    session = uow.session
    cases = list(session.scalars(select(Case).where(
        Case.assignee_id == str(from_user_id), Case.deleted_at.is_(None),
        Case.status.in_(rules.OPEN_STATUSES)).order_by(Case.number).with_for_update()))
    before = {case.id: case_data(case) for case in cases}
    for case in cases:
        case.assignee_id = str(to_user_id)
    session.flush()
    for case in cases:
        history.updated(uow, "support.case.updated", case.id, case_data(case), before=before[case.id])
    return {"cases": len(cases)}
