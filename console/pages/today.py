"""My day: today's agenda, overdue follow-ups, deals closing this month and
cases nearest to their SLA; a manager sees the same for the whole team."""
from __future__ import annotations

import calendar
from decimal import Decimal
from datetime import datetime

from flask import Blueprint

from console.api import ApiError
from console.auth import current_user, login_required, user_api
from console.i18n import parse_time
from console.money import totals
from console.sla import next_due
from console.views import account_names, day_window, local_now, owner_names, page_or_region, scope_owners

bp = Blueprint("today", __name__)

OPEN_CASES = "new,open,pending"


def _owner_query(owners: set[str] | None) -> dict:
    """One owner: let the API filter. A team: fetch and keep the team's."""
    return {"owner_id": next(iter(owners))} if owners and len(owners) == 1 else {}


def _slices(owners: set[str] | None, now: datetime) -> dict[str, tuple[str, dict]]:
    start, end = day_window(now)
    first = now.date().replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    mine = _owner_query(owners)
    return {
        "agenda": ("/activities", {**mine, "from": start, "to": end, "sort": "time", "limit": 200}),
        "overdue": ("/activities", {**mine, "status": "planned", "to": now.isoformat(), "sort": "-time",
                                    "limit": 200}),
        "upcoming": ("/activities", {**mine, "status": "planned", "from": now.isoformat(), "sort": "time",
                                     "limit": 200}),
        "deals": ("/opportunities", {**mine, "status": "open", "close_date_from": first.isoformat(),
                                     "close_date_to": last.isoformat(), "limit": 200}),
        "accounts": ("/accounts", {**mine, "limit": 200}),
        "cases": ("/cases", {"status": OPEN_CASES, "limit": 200}),
        "valuable": ("/accounts", {**mine, "sort": "-lifetime_value", "limit": 50}),
    }


def _kept(answer, owners: set[str] | None, key: str = "owner_id"):
    if isinstance(answer, ApiError):
        return None  # the template says this part is unavailable
    items = answer["items"]
    return items if owners is None else [i for i in items if i.get(key) in owners]


def _cases_near_sla(cases, accounts, owners, user) -> list[dict] | None:
    if cases is None:
        return None
    if user["role"] == "support":
        kept = [c for c in cases if c.get("assignee_id") == user["id"]]
    elif owners is None:
        kept = cases
    else:
        mine = {a["id"] for a in accounts or []}
        kept = [c for c in cases if c.get("account_id") in mine or c.get("assignee_id") in owners]
    return sorted(kept, key=next_due)[:10]


def _follow_ups(overdue, upcoming, now: datetime) -> list[dict] | None:
    """Planned activities whose time has passed, and reminders that are due."""
    if overdue is None:
        return None
    reminders = [a for a in upcoming or [] if a.get("remind_at") and parse_time(a["remind_at"]) <= now]
    return overdue + [a for a in reminders if a not in overdue]


@bp.get("/")
@login_required
def index():
    user = current_user()
    owners = scope_owners()
    now = local_now()
    answers = user_api().get_many(_slices(owners, now))
    deals = _kept(answers["deals"], owners)
    accounts = _kept(answers["accounts"], owners)
    agenda = _kept(answers["agenda"], owners)
    follow_ups = _follow_ups(_kept(answers["overdue"], owners), _kept(answers["upcoming"], owners), now)
    cases = _cases_near_sla(_kept(answers["cases"], None), accounts, owners, user)
    shown = [r for r in (agenda or []) + (follow_ups or []) + (deals or []) + (cases or [])]
    return page_or_region(
        "today.html", "today/_day.html", now=now, team_view=owners is not None and len(owners) > 1,
        agenda=agenda, follow_ups=follow_ups, deals=sorted(deals, key=lambda d: d["close_date"]) if deals else deals,
        cases=cases, names=account_names(shown), owners=owner_names(shown),
        deals_total=_total(deals or []), valuable=_most_valuable(answers["valuable"], owners, user))


TOP_CUSTOMERS = 5


def _most_valuable(answer, owners: set[str] | None, user) -> list[dict] | None:
    """A manager's (or an admin's) most valuable customers: won total in the base
    currency, highest first (accounts not valued yet are left out)."""
    if user["role"] not in ("manager", "admin"):
        return []
    kept = _kept(answer, owners)
    if kept is None:
        return None
    return [a for a in kept if a.get("lifetime_value") and Decimal(a["lifetime_value"]["amount"]) > 0][:TOP_CUSTOMERS]


def _total(deals: list[dict]) -> list[dict]:
    return totals(d.get("amount") for d in deals)
