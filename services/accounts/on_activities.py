"""Accounts' reactions to activities: the account view's last_activity_at.

An activity tells us we were in touch with the customer. The moment counted
is the activity's own time (starts_at, else due_at), but never later than when
it was recorded (created_at for activities.activity.created, completed_at for
.completed), so a meeting planned for next month does not make the account
look active next month. The view keeps the latest such moment: applying an
event twice, or events out of order, gives the same result.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import or_, update

from shared.db import dialect_of, utcnow

from services.accounts.models import Account, AccountView
from services.accounts.service import live_account_id


def _time(value) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def engaged_at(data: dict, recorded_at: datetime) -> datetime:
    """When this activity says we were last in touch (see the module doc)."""
    when = _time(data.get("starts_at")) or _time(data.get("due_at"))
    return min(when, recorded_at) if when else recorded_at


def touch_last_activity(uow, account_id: str, moment: datetime) -> None:
    """last_activity_at = max(last_activity_at, moment); the view row is made if absent."""
    session = uow.session
    account = session.get(Account, account_id)
    currency = (account.annual_revenue_currency if account is not None else None) or "EUR"
    dialect = dialect_of(uow.db)
    session.execute(dialect.insert(AccountView).values(
        account_id=account_id, currency=currency, last_activity_at=moment, updated_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["account_id"]))
    session.execute(update(AccountView).where(
        AccountView.account_id == account_id,
        or_(AccountView.last_activity_at.is_(None), AccountView.last_activity_at < moment),
    ).values(last_activity_at=moment, updated_at=utcnow()))


def on_activity_recorded(event, uow):
    """activities.activity.created / .completed → the account's last_activity_at."""
    data = event["data"]
    account_id = data.get("account_id")
    if not account_id:
        return
    recorded = _time(data.get("completed_at") if event["type"].endswith(".completed") else data.get("created_at"))
    moment = engaged_at(data, recorded or _time(event.get("time")) or utcnow())
    touch_last_activity(uow, live_account_id(uow.session, account_id), moment)


HANDLERS = {
    "activities.activity.created": on_activity_recorded,
    "activities.activity.completed": on_activity_recorded,
}
