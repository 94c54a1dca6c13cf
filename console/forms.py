"""Forms that write through the API: what was typed becomes the JSON the API
expects, and the API's problem+json comes back as messages beside the fields,
with what was typed kept."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask_babel import gettext as _

from console.api import ApiError


def text(value: str | None):
    value = (value or "").strip()
    return value or None


def integer(value: str | None):
    value = (value or "").strip()
    try:
        return int(value) if value else None
    except ValueError:
        return value  # the API names the problem beside the field


def word_list(value: str | None) -> list[str]:
    return [w.strip() for w in (value or "").split(",") if w.strip()]


@dataclass(frozen=True)
class Field:
    name: str
    convert: Callable = text
    money: bool = False  # typed as <name>_amount + <name>_currency


@dataclass
class FormState:
    values: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None
    conflict: bool = False

    def error(self, name: str) -> list[str]:
        return self.errors.get(name, [])


def payload(form, fields: list[Field]) -> dict:
    body = {}
    for spec in fields:
        if spec.money:
            amount = text(form.get(f"{spec.name}_amount"))
            currency = text(form.get(f"{spec.name}_currency"))
            body[spec.name] = {"amount": amount.replace(",", "."), "currency": (currency or "EUR").upper()} \
                if amount else None
        elif spec.name in form:
            body[spec.name] = spec.convert(form.get(spec.name))
    return body


def values_of(record: dict, fields: list[Field]) -> dict:
    """A record as the strings its form shows."""
    values = {}
    for spec in fields:
        value = record.get(spec.name)
        if spec.money:
            values[f"{spec.name}_amount"] = (value or {}).get("amount", "")
            values[f"{spec.name}_currency"] = (value or {}).get("currency", "EUR")
        elif isinstance(value, list):
            values[spec.name] = ", ".join(str(v) for v in value)
        else:
            values[spec.name] = "" if value is None else str(value)
    return values


def _field_of(key: str, known: set[str]) -> str | None:
    """'annual_revenue.amount' belongs beside annual_revenue; 'body' beside none."""
    head = key.split(".", 1)[0]
    return head if head in known else None


def failed(form, exc: ApiError, fields: list[Field]) -> FormState:
    """The form again, as typed, with the API's reasons."""
    state = FormState(values=dict(form.items()))
    known = {f.name for f in fields}
    leftovers = []
    for key, messages in exc.errors.items():
        name = _field_of(key, known)
        if name:
            state.errors.setdefault(name, []).extend(messages)
        else:
            leftovers.extend(messages)
    if exc.status == 412:
        state.conflict = True
        state.message = _("Someone else changed this record while you were editing it. "
                          "Reload to see their version, then make your change again.")
    elif exc.status == 409:
        state.conflict = True
        state.message = " ".join([exc.detail, _("It may have just been changed by someone else.")]).strip()
    elif exc.status == 403:
        state.message = _("You are not allowed to change this record.")
    elif state.errors or leftovers:
        state.message = " ".join([_("Please correct the fields marked below.")] + leftovers)
    else:
        state.message = exc.detail or _("The change was not saved.")
    return state
