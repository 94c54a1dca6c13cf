"""Cases from e-mail: a message opens a case, a reply carrying the case's
reference becomes a public comment on it, and a Message-ID seen before is
answered with what it made the first time."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.auth import Principal
from shared.db import utcnow
from shared.http import Invalid

from services.support import rules
from services.support.models import Case, CaseComment
from services.support.replica import AccountsLookup
from services.support.service import _add_comment, _open_case, get_case

def _may_reply(case: Case, mail: rules.InboundEmail, contact) -> bool:
    """Only the case's requester, its contact or someone of its account may add to it by e-mail;
    anybody else who quotes a number opens a case of their own."""
    if case.requester_email and case.requester_email == mail.sender:
        return True
    if contact is None:
        return False
    return contact.id == case.contact_id or (case.account_id is not None and contact.account_id == case.account_id)


def receive_email(uow, actor: Principal, raw: bytes, accounts: AccountsLookup) -> tuple[Case, CaseComment | None, bool]:
    """Open a case from an e-mail, or add a reply (``[#<number>]`` in the
    subject) to its case as a public customer comment. Returns (case,
    comment or None, whether anything was created: a repeated Message-ID is not)."""
    try:
        mail = rules.parse_email(raw)
    except rules.BadEmail as exc:
        raise Invalid(str(exc), errors={exc.field: [str(exc)]}) from None
    repeat = _received_before(uow, mail.message_id)
    if repeat is not None:  # the mail gateway delivered this message again
        return repeat
    try:
        return _file_email(uow, actor, mail, accounts)
    except IntegrityError:  # the same message, delivered twice at the same moment: the other one won
        uow.session.rollback()
        repeat = _received_before(uow, mail.message_id)
        if repeat is None:
            raise
        return repeat


def _received_before(uow, message_id: str | None) -> tuple[Case, CaseComment | None, bool] | None:
    if not message_id:
        return None
    session = uow.session
    seen = session.scalars(select(CaseComment).where(CaseComment.message_id == message_id)).first()
    opened = session.scalars(select(Case).where(Case.inbound_message_id == message_id)).first()
    if seen is None and opened is None:
        return None
    case = get_case(session, seen.case_id if seen is not None else opened.id)
    return case, seen, False


def _file_email(uow, actor: Principal, mail: rules.InboundEmail,
                accounts: AccountsLookup) -> tuple[Case, CaseComment | None, bool]:
    session = uow.session
    contact = accounts.contact_by_email(session, mail.sender, actor.token)
    number = rules.parse_reference(mail.subject)
    description = mail.text
    if number is not None:
        case = session.scalars(select(Case).where(Case.number == number, Case.deleted_at.is_(None))
                               .with_for_update()).first()
        if case is not None and _may_reply(case, mail, contact):
            if case.status != "closed":
                comment = _add_comment(uow, case, CaseComment(
                    body=rules.strip_quoted(mail.text) or "(empty reply)", public=True, author_type="customer",
                    author_email=mail.sender, message_id=mail.message_id))
                return case, comment, True
            description = f"Follow-up to the closed case #{case.number}.\n\n{mail.text}"
    case = Case(subject=mail.subject, description=description or None, channel="email", priority="normal",
                status="new", contact_id=contact.id if contact else None,
                account_id=contact.account_id if contact else None, requester_email=mail.sender,
                requester_name=mail.sender_name or (contact.name if contact else None), assignee_id=None,
                created_by=actor.id, inbound_message_id=mail.message_id, created_at=utcnow())
    return _open_case(uow, case), None, True
