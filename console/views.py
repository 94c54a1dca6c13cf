"""Helpers every page uses: the region-or-page rendering of htmx requests,
the names directory, and the current user's scope."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytz
from flask import current_app, render_template, request

from console.auth import current_user, user_api
from console.directory import Directory


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def page_or_region(page: str, region: str, **context):
    """The full page, or only its region when htmx asks for it (the page
    includes the region's template, so both always agree)."""
    return render_template(region if is_htmx() else page, **context)


def directory() -> Directory:
    return current_app.extensions["console.directory"]


def zone():
    return pytz.timezone(current_app.config["CONSOLE_TIMEZONE"])


def local_now() -> datetime:
    return datetime.now(zone())


def day_window(now: datetime) -> tuple[str, str]:
    start = zone().localize(datetime.combine(now.date(), datetime.min.time()))
    end = zone().normalize(start + timedelta(days=1))
    return start.isoformat(), end.isoformat()


def scope_owners() -> set[str] | None:
    """Whose records "mine" means: the user's, or for a manager the whole team's.
    None means everyone's (an admin)."""
    user = current_user()
    if user["role"] == "admin":
        return None
    if user["role"] == "manager" and user.get("team"):
        return directory().team_of(user_api(), user["team"], member=user["id"]) | {user["id"]}
    return {user["id"]}


def owner_names(records: list[dict], key: str = "owner_id") -> dict[str, str]:
    api = user_api()
    return {r[key]: directory().user_name(api, r[key]) for r in records if r.get(key)}


def account_names(records: list[dict], key: str = "account_id") -> dict[str, str]:
    return directory().account_names(user_api(), [r.get(key) for r in records])


def account_options() -> list[tuple[str, str]]:
    """Every account (up to 1,000) as choices for a form, by name."""
    from console.directory import all_pages

    return sorted(((a["id"], a["name"]) for a in all_pages(user_api(), "/accounts")), key=lambda o: o[1].lower())


def user_options(roles=("rep", "manager", "admin")) -> list[tuple[str, str]]:
    """Active users of these roles as choices for a form, by name."""
    return [(u["id"], u["name"]) for u in directory().all_users(user_api())
            if u.get("role") in roles and u.get("active", True)]
