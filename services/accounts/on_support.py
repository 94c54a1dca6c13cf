"""Accounts' reactions to support's case events: the per-case rows
(ViewCase) and the account view's case counters (docs/account-health.md).

Each event sets the state of one case; the counters of the account are then
counted again from its ViewCase rows rather than moved by +1/-1, so a
redelivered or re-ordered event cannot make them drift. `breached` and
`satisfaction` only ever go one way (a breach is never undone, a rating is
given once), so they are safe in any order; `is_open` follows the latest
full-case event. A case of a merged account counts for its survivor.
"""
from __future__ import annotations

from sqlalchemy import func, select

from shared.inbox import PermanentError

from services.accounts.models import Account, AccountView, ViewCase
from services.accounts.service import live_account_id

OPEN_STATUSES = ("new", "open", "pending")
LOW_SCORE = 2  # a rating of 1 or 2 counts as low satisfaction


def _view(session, account_id: str) -> AccountView:
    view = session.get(AccountView, account_id)
    if view is None:
        account = session.get(Account, account_id)
        currency = (account.annual_revenue_currency if account is not None else None) or "EUR"
        view = AccountView(account_id=account_id, currency=currency)
        session.add(view)
    return view


def recount(session, account_id: str | None) -> None:
    """The account's case counters, counted from its ViewCase rows."""
    if not account_id:
        return
    session.flush()
    open_cases, breached, low = session.execute(
        select(func.count().filter(ViewCase.is_open.is_(True)),
               func.count().filter(ViewCase.breached.is_(True)),
               func.count().filter(ViewCase.satisfaction <= LOW_SCORE))
        .where(ViewCase.account_id == account_id)).one()
    view = _view(session, account_id)
    view.open_cases, view.breached_cases, view.low_satisfaction = open_cases, breached, low


def _case_id(event: dict) -> str:
    data = event["data"]
    case_id = data.get("id") or data.get("case_id") or event.get("subject")
    if not case_id:
        raise PermanentError("a case event without a case id")
    return str(case_id)


def _row(session, case_id: str, account_id: str) -> ViewCase:
    row = session.get(ViewCase, case_id)
    if row is None:
        row = ViewCase(case_id=case_id, account_id=account_id, is_open=True, breached=False)
        session.add(row)
    return row


def on_case_changed(event: dict, uow) -> None:
    """support.case.opened / .updated / .resolved / .closed (the full case)."""
    session = uow.session
    data = event["data"]
    case_id = _case_id(event)
    account_id = live_account_id(session, data["account_id"]) if data.get("account_id") else None
    row = session.get(ViewCase, case_id)
    before = row.account_id if row is not None else None
    if not account_id:  # not (or no longer) about an account
        if row is not None:
            session.delete(row)
            recount(session, before)
        return
    row = _row(session, case_id, account_id)
    row.account_id = account_id
    row.is_open = data.get("status") in OPEN_STATUSES and not data.get("deleted_at")
    row.breached = bool(row.breached or data.get("sla_breached") or data.get("first_response_breached_at")
                        or data.get("resolution_breached_at"))
    score = (data.get("satisfaction") or {}).get("score")
    if row.satisfaction is None and score is not None:
        row.satisfaction = int(score)
    recount(session, account_id)
    if before and before != account_id:
        recount(session, before)


def on_case_deleted(event: dict, uow) -> None:
    """support.case.deleted: a case entered by mistake stops counting."""
    session = uow.session
    row = session.get(ViewCase, _case_id(event))
    if row is not None:
        account_id = row.account_id
        session.delete(row)
        recount(session, account_id)


def on_case_breached(event: dict, uow) -> None:
    """support.case.sla_breached {case_id, account_id, target, due_at}."""
    data = event["data"]
    if not data.get("account_id"):
        return
    row = _row(uow.session, _case_id(event), live_account_id(uow.session, data["account_id"]))
    row.breached = True
    recount(uow.session, row.account_id)


def on_case_rated(event: dict, uow) -> None:
    """support.case.satisfaction_rated {case_id, account_id, score}."""
    data = event["data"]
    score = data.get("score")
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise PermanentError(f"a satisfaction score must be 1..5, got {score!r}")
    if not data.get("account_id"):
        return
    case_id = _case_id(event)
    row = uow.session.get(ViewCase, case_id)
    if row is None:  # the case's own events have not arrived yet; a rated case is resolved
        row = ViewCase(case_id=case_id, account_id=live_account_id(uow.session, data["account_id"]), is_open=False,
                       breached=False)
        uow.session.add(row)
    if row.satisfaction is None:
        row.satisfaction = score
    recount(uow.session, row.account_id)


HANDLERS = {
    "support.case.opened": on_case_changed,
    "support.case.updated": on_case_changed,
    "support.case.resolved": on_case_changed,
    "support.case.closed": on_case_changed,
    "support.case.deleted": on_case_deleted,
    "support.case.sla_breached": on_case_breached,
    "support.case.satisfaction_rated": on_case_rated,
}
