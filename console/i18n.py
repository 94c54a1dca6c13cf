"""Languages: the user's choice (?lang=, remembered in the session), else the
browser's Accept-Language, else Spanish; and Babel formatting for money,
numbers and dates in that language."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import request, session
from flask_babel import Babel, format_currency, format_date, format_datetime, format_decimal, format_percent
from flask_babel import get_locale, lazy_gettext as _l, ngettext

from console.api_messages import say

LANGUAGES = ("es", "en")
DEFAULT = "es"


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def parse_time(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def money(value: dict | None) -> str:
    if not value or value.get("amount") in (None, ""):
        return "—"
    try:
        amount = Decimal(str(value["amount"]))
    except InvalidOperation:
        return str(value["amount"])
    return format_currency(amount, value.get("currency") or "EUR", format_type="standard")


def number(value) -> str:
    return "—" if value is None else format_decimal(value)


def percent(value) -> str:
    return "—" if value is None else format_percent(value)


def day(value) -> str:
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(value, "medium")


def moment(value, fmt: str = "medium") -> str:
    parsed = parse_time(value) if value else None
    return format_datetime(parsed, fmt) if parsed else "—"


def time_of_day(value) -> str:
    parsed = parse_time(value) if value else None
    return format_datetime(parsed, "HH:mm") if parsed else "—"


def lang() -> str:
    return str(get_locale() or DEFAULT)


_REASONS = [
    (re.compile(r"-(\d+): (\d+) open case"), lambda n: ngettext("%(num)d open case", "%(num)d open cases", n)),
    (re.compile(r"-(\d+): (\d+) case\(s\) breached"),
     lambda n: ngettext("%(num)d case breached its SLA", "%(num)d cases breached their SLA", n)),
    (re.compile(r"-(\d+): (\d+) low satisfaction"),
     lambda n: ngettext("%(num)d low satisfaction rating", "%(num)d low satisfaction ratings", n)),
]
_NO_ACTIVITY = re.compile(r"-(\d+): no activity in the last (\d+) days")


def health_reason(text: str) -> str:
    """The API explains health in English; say the same in the user's language."""
    for pattern, say in _REASONS:
        found = pattern.match(text)
        if found:
            return f"−{found.group(1)}: {say(int(found.group(2)))}"
    found = _NO_ACTIVITY.match(text)
    if found:
        return f"−{found.group(1)}: " + str(_l("no activity in the last %(days)s days", days=found.group(2)))
    return text


_QUOTED = re.compile(r"“([^”]+)”")


def event_summary(event: dict) -> str:
    """The timeline's summaries are English sentences; the event's type says
    the same in the user's language, and the quoted name needs no translation."""
    from console.labels import EVENTS

    said = EVENTS.get(event.get("type"))
    if said is None:
        return event.get("summary") or event.get("type") or ""
    quoted = _QUOTED.search(event.get("summary") or "")
    return f"{said}: {quoted.group(1)}" if quoted else str(said)


def install(app) -> Babel:
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    babel = Babel(app, locale_selector=select_locale, default_timezone=app.config["CONSOLE_TIMEZONE"])
    app.jinja_env.filters.update(money=money, number=number, percent=percent, day=day, moment=moment,
                                 time_of_day=time_of_day, health_reason=health_reason,
                                 event_summary=event_summary, api_message=say)
    app.jinja_env.globals.update(lang=lang, LANGUAGES=LANGUAGES)
    return babel
