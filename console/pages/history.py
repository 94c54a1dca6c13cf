"""A record's field history (CONTRACTS §10): who changed which fields, when,
from what to what. The account 360 page and the contact and case pages show
the latest changes; `/app/history/<kind>/<id>` pages through all of them
(and a deal's, linked from its card on the pipeline)."""
from __future__ import annotations

import re

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from console import labels as L
from console.api import ApiError
from console.auth import login_required, user_api
from console.i18n import day, money, moment
from console.views import directory, is_htmx

bp = Blueprint("history", __name__, url_prefix="/history")

LATEST = 5  # on a record's own page
PAGE = 20
KINDS = {"accounts": _l("account"), "contacts": _l("contact"), "opportunities": _l("deal"), "cases": _l("case")}

CODES = {"segment": L.SEGMENTS, "role": L.CONTACT_ROLES, "lifecycle_stage": L.LIFECYCLE, "stage": L.STAGES,
         "priority": L.PRIORITIES, "channel": L.CHANNELS, "forecast_category": L.FORECAST_CATEGORIES}
# Fields the API derives from others the history already shows (a contact's name is its first and last name).
DERIVED = {"contacts": frozenset({"name"})}
PEOPLE = ("owner_id", "assignee_id")
ACCOUNTS = ("account_id", "parent_account_id")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def field_label(field: str) -> str:
    return str(L.FIELDS.get(field) or field.replace("_", " ").capitalize())


def shown(field: str, value, names: dict[str, str], kind: str = "") -> str:
    """A value of the history as a person reads it, in their language."""
    if value is None or value == "" or value == []:
        return "—"
    if field in PEOPLE or field in ACCOUNTS:
        return names.get(value, str(value)[:8])
    if field == "status":
        return L.label(L.CASE_STATUSES if kind == "cases" else L.CAMPAIGN_STATUSES, value)
    if field in CODES:
        return L.label(CODES[field], value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dict):
        return money(value) if "amount" in value and "currency" in value else \
            ", ".join(str(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, list):
        return ", ".join(v if isinstance(v, str) else (v.get("description") or v.get("product_code") or "…")
                         if isinstance(v, dict) else str(v) for v in value)
    text = str(value)
    if _TIME.match(text):
        return moment(text, "short")
    return day(text) if _DATE.match(text) else text


def entries(answer: dict | ApiError | None, kind: str) -> list[dict] | None:
    """The history's items ready for a template (None: it could not be read)."""
    if answer is None or isinstance(answer, ApiError):
        return None
    api = user_api()
    def named(fields) -> set:
        return {v for e in answer["items"] for f, c in (e.get("changes") or {}).items() if f in fields
                for v in (c.get("from"), c.get("to")) if v}

    people = {e["actor_id"] for e in answer["items"] if e.get("actor_id")} | named(PEOPLE)
    names = {i: directory().user_name(api, i) for i in people}
    names.update(directory().account_names(api, named(ACCOUNTS)))
    return [{"time": e["time"], "type": L.label(L.EVENTS, e["type"]),
             "who": names.get(e["actor_id"]) if e.get("actor_id") else _("Cadena (automatic)"),
             "changes": [{"field": field_label(f), "from": shown(f, c.get("from"), names, kind),
                          "to": shown(f, c.get("to"), names, kind)} for f, c in (e.get("changes") or {}).items()
                         if f not in DERIVED.get(kind, ())]}
            for e in answer["items"]]


def more_url(kind: str, record_id, answer) -> str | None:
    cursor = answer.get("next_cursor") if isinstance(answer, dict) else None
    return url_for("history.page", kind=kind, record_id=record_id, cursor=cursor) if cursor else None


def section(kind: str, record_id, answer) -> dict:
    """What a record's page needs to show its latest changes."""
    return {"history": entries(answer, kind),
            "history_all": url_for("history.page", kind=kind, record_id=record_id)}


def latest(kind: str, record_id) -> tuple[str, dict]:
    """The request for a record's latest changes, for ``get_many``."""
    return f"/{kind}/{record_id}/history", {"limit": LATEST}


@bp.get("/<any(accounts, contacts, opportunities, cases):kind>/<uuid:record_id>")
@login_required
def page(kind, record_id):
    answer = user_api().get(f"/{kind}/{record_id}/history", limit=PAGE, cursor=request.args.get("cursor"))
    template = "history/_items.html" if is_htmx() else "history/page.html"
    return render_template(template, history=entries(answer, kind), kind=kind, record_id=record_id,
                           what=KINDS[kind], history_more=more_url(kind, record_id, answer))
