"""Accounts' reactions to opportunities' events: the account view's pipeline
and won figures, and the contact lifecycle (CONTRACTS §4, "Lifecycle").

Each deal's last known state is kept per deal (ViewOpportunity) and the
account's figures are recomputed from those rows, so a redelivered or
reordered event can never count a deal twice. A deal's status only moves
forward (open → lost → deleted, open → won), so a late "open" event never
reopens a closed deal. An event that names a merged account counts for the
account it was merged into.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from shared.db import dialect_of, utcnow
from shared.inbox import PermanentError

from services.accounts.models import Account, AccountView, Contact, ViewOpportunity
from services.accounts import value
from services.accounts.service import live_account_id, move_lifecycle

OPEN_STAGES = frozenset({"prospecting", "qualification", "proposal", "negotiation"})
RANK = {"open": 0, "lost": 1, "deleted": 2, "won": 3}


def _money(value: dict | None) -> tuple[Decimal, str] | None:
    if not value:
        return None
    return Decimal(str(value["amount"])), str(value["currency"])


def _view(uow, account_id: str, currency: str) -> AccountView:
    """The account's view row, created if missing and locked for this transaction
    (two deals of one account handled at once must not both recompute from stale sums)."""
    session = uow.session
    account = session.get(Account, account_id)
    dialect = dialect_of(uow.db)
    session.execute(dialect.insert(AccountView).values(
        account_id=account_id, currency=(account.annual_revenue_currency if account else None) or currency,
        updated_at=utcnow()).on_conflict_do_nothing(index_elements=[AccountView.account_id]))
    stmt = select(AccountView).where(AccountView.account_id == account_id).execution_options(populate_existing=True)
    if uow.db.is_postgres:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one()


def recompute(uow, account_id: str, currency: str, won_at: datetime | None = None) -> None:
    view = _view(uow, account_id, currency)
    rows = uow.session.execute(
        select(ViewOpportunity.status, ViewOpportunity.currency, func.count(), func.sum(ViewOpportunity.amount))
        .where(ViewOpportunity.account_id == account_id)
        .group_by(ViewOpportunity.status, ViewOpportunity.currency)).all()
    # One currency per view: the account's own (its revenue currency) unless
    # none of its live deals is in it, then the one most of its deals use.
    live = {}
    for status, row_currency, count, _ in rows:
        if status in ("open", "won"):
            live[row_currency] = live.get(row_currency, 0) + count
    account = uow.session.get(Account, account_id)
    own = account.annual_revenue_currency if account else None
    if own in live:
        view.currency = own
    elif live and view.currency not in live:
        view.currency = sorted(live, key=lambda c: (-live[c], c))[0]
    open_pipeline, won_total, won_deals = Decimal("0"), Decimal("0"), 0
    for status, row_currency, count, total in rows:
        total = Decimal(str(total or 0)).quantize(Decimal("0.01"))
        if status == "won":
            won_deals += count
        if row_currency != view.currency:
            continue  # one currency per view; other currencies' deals are counted, not summed
        if status == "open":
            open_pipeline += total
        elif status == "won":
            won_total += total
    view.open_pipeline, view.won_total, view.won_deals = open_pipeline, won_total, won_deals
    if won_at is not None and (view.last_won_at is None or won_at > view.last_won_at):
        view.last_won_at = won_at
    value.refresh(uow, view)
    view.updated_at = utcnow()


def _apply(uow, opportunity_id: str, account_id: str, money: tuple[Decimal, str] | None, status: str,
           won_at: datetime | None = None) -> bool:
    """Record a deal's new state; False when the event is older than what we know."""
    session = uow.session
    deal = session.get(ViewOpportunity, opportunity_id, with_for_update=uow.db.is_postgres)
    touched = {account_id}
    if deal is None:
        amount, currency = money or (Decimal("0"), "EUR")
        session.add(ViewOpportunity(opportunity_id=opportunity_id, account_id=account_id, amount=amount,
                                    currency=currency, status=status))
    else:
        if RANK[status] < RANK[deal.status] or (deal.status != "open" and status == deal.status):
            return False
        touched.add(deal.account_id)
        deal.account_id, deal.status = account_id, status
        if money:
            deal.amount, deal.currency = money
    session.flush()
    currency = money[1] if money else "EUR"
    for account in sorted(touched):  # one lock order for every transaction
        recompute(uow, account, currency, won_at if account == account_id else None)
    return True


def _contacts(uow, account_id: str, stages: tuple[str, ...]) -> list[Contact]:
    return list(uow.session.scalars(
        select(Contact).where(Contact.account_id == account_id, Contact.deleted_at.is_(None),
                              Contact.lifecycle_stage.in_(stages)).order_by(Contact.id)))


def on_opportunity_changed(event: dict, uow) -> None:
    """created / stage_changed / updated: the deal's amount and account; an open
    deal makes the account's prospects potential customers."""
    data = event["data"]
    stage = data["stage"]
    if stage not in OPEN_STAGES:
        return  # closing arrives as .won / .lost
    account_id = live_account_id(uow.session, data["account_id"])
    if not _apply(uow, str(data["id"]), account_id, _money(data.get("amount")), "open"):
        return
    for contact in _contacts(uow, account_id, ("prospect",)):
        move_lifecycle(uow, contact, "potential_customer")


def on_opportunity_won(event: dict, uow) -> None:
    """A won deal: into won_total once, and the account's contacts become active customers."""
    data = event["data"]
    account_id = live_account_id(uow.session, data["account"]["id"])
    money = _money(data.get("amount"))
    won_at = datetime.fromisoformat(data["won_at"]) if data.get("won_at") else utcnow()
    if won_at.tzinfo is None:
        raise PermanentError("won_at without a time zone")
    if not _apply(uow, str(data["opportunity_id"]), account_id, money, "won", won_at):
        return
    for contact in _contacts(uow, account_id, ("prospect", "potential_customer", "inactive_customer")):
        move_lifecycle(uow, contact, "active_customer")


def on_opportunity_lost(event: dict, uow) -> None:
    data = event["data"]
    _apply(uow, str(data["opportunity_id"]), live_account_id(uow.session, data["account_id"]),
           _money(data.get("amount")), "lost")


def on_opportunity_deleted(event: dict, uow) -> None:
    data = event["data"]
    _apply(uow, str(data.get("opportunity_id") or data["id"]), live_account_id(uow.session, data["account_id"]),
           None, "deleted")


HANDLERS = {
    "opportunities.opportunity.created": on_opportunity_changed,
    "opportunities.opportunity.stage_changed": on_opportunity_changed,
    "opportunities.opportunity.updated": on_opportunity_changed,
    "opportunities.opportunity.won": on_opportunity_won,
    "opportunities.opportunity.lost": on_opportunity_lost,
    "opportunities.opportunity.deleted": on_opportunity_deleted,
    "opportunities.exchange_rate.updated": value.on_exchange_rate_updated,
}
