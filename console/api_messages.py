"""The API explains a refused field in English; the console says the same in
the user's language. A message is known whole (the API's own words are the
catalogue's msgids, marked with ``N_`` so extraction finds them) or by its
shape (those that carry a value: a length, the choices, a row); one the
console does not know is shown as the API wrote it, which is still better
than nothing beside the field."""
from __future__ import annotations

import re
from typing import Callable

from flask import has_request_context
from flask_babel import gettext


def N_(text: str) -> str:
    """Marks a text for the catalogue without translating it here."""
    return text


KNOWN = frozenset({
    # the schema library's own
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Invalid input type."),
    N_("Unknown field."),
    N_("Not a valid string."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Number too large."),
    N_("Not a valid boolean."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid aware datetime."),
    N_("Not a valid list."),
    N_("Not a valid UUID."),
    N_("String does not match expected pattern."),
    # Cadena's
    N_("Not a valid id."),
    N_("Not a phone number."),
    N_("Not an ISO 4217 currency code."),
    N_("An ISO 4217 code, e.g. EUR."),
    N_("ISO 3166-1 alpha-2 code, e.g. ES."),
    N_("Not a valid amount."),
    N_("Not a valid decimal amount."),
    N_("Not a valid quantity."),
    N_("Amount too large."),
    N_("Quantity too large."),
    N_("At most two decimal places."),
    N_("Must be greater than 0."),
    N_("Must not be negative."),
    N_("Out of range."),
    N_("Too long."),
    N_("Remove NUL characters."),
    N_("An RFC 3339 time or a YYYY-MM-DD day."),
    N_("A time needs its zone (e.g. Z)."),
    N_("Must be a time between the years 1900 and 2999."),
    N_("No account with this id."),
    N_("No contact with this id."),
    N_("No user with this id."),
    N_("No active user with this id."),
    N_("Not someone in your team."),
    N_("Choose another user."),
    N_("Cannot be the user itself."),
    N_("This would make a cycle."),
    N_("That contact belongs to another account."),
    N_("This contact belongs to another account."),
    N_("Give at least a first_name, a last_name or an email."),
    N_("More cells than the header has columns."),
    N_("The first response cannot be due after the resolution."),
    # a problem's detail, where a form shows it
    N_("The owner is not an active user."),
    N_("The assignee is not an active user."),
    N_("The account does not exist."),
    N_("The contact does not exist."),
    N_("The parent account does not exist."),
    N_("The manager contact does not exist."),
    N_("The contact belongs to another account."),
    N_("The primary contact works for another account."),
    N_("A contact reports to someone at the same account."),
    N_("Reporting lines cannot make a cycle."),
    N_("An account cannot be its own ancestor."),
    N_("The activity is already done."),
    N_("The case is closed; open a new case instead."),
    N_("This case has already been rated; a rating is given once."),
    N_("Cases are assigned to support users or managers."),
    N_("A won deal is final (billing has it); it cannot be deleted."),
    N_("The successor must be an active user."),
    N_("A user cannot hand over to themselves."),
    N_("Only an admin may create users."),
    N_("Only an admin or the user's manager may set a quota."),
    N_("Someone set this quota at the same moment; retry."),
    # why an e-mail address is not one (after "Not a valid e-mail address: ")
    N_("An email address must have an @-sign."),
    N_("There must be something before the @-sign."),
    N_("There can't be anything after the email address."),
    N_("An email address cannot have two periods in a row."),
    N_("The part after the @-sign is not valid. It should have a period."),
    N_("The part after the @-sign is not valid. It is not within a valid top-level domain."),
    N_("The email address contains invalid characters before the @-sign."),
})

Say = Callable[[re.Match], str]

SHAPES: list[tuple[re.Pattern, Say]] = [
    (re.compile(r"Not a valid e-mail address: (?P<why>.+)"),
     lambda m: gettext("Not a valid e-mail address: %(why)s", why=say(m["why"]))),
    (re.compile(r"Must be one of: (?P<choices>.+)\."),
     lambda m: gettext("Must be one of: %(choices)s.", choices=m["choices"])),
    (re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\."),
     lambda m: gettext("Length must be between %(min)s and %(max)s.", min=m["min"], max=m["max"])),
    (re.compile(r"Longer than maximum length (?P<max>\d+)\."),
     lambda m: gettext("Longer than maximum length %(max)s.", max=m["max"])),
    (re.compile(r"Shorter than minimum length (?P<min>\d+)\."),
     lambda m: gettext("Shorter than minimum length %(min)s.", min=m["min"])),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\."),
     lambda m: gettext("Must be between %(min)s and %(max)s.", min=m["min"], max=m["max"])),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+)\."),
     lambda m: gettext("Must be %(min)s or more.", min=m["min"])),
    (re.compile(r"Must be less than or equal to (?P<max>\S+)\."),
     lambda m: gettext("Must be %(max)s or less.", max=m["max"])),
    (re.compile(r"The same (?P<field>\w+) as row (?P<row>\d+)\."),
     lambda m: gettext("The same %(field)s as row %(row)s.", field=m["field"], row=m["row"])),
    (re.compile(r"Already used by contact (?P<id>\S+)\."),
     lambda m: gettext("Already used by contact %(id)s.", id=m["id"])),
    (re.compile(r"A contact with the email (?P<email>\S+) already exists: \S+\."),
     lambda m: gettext("A contact with the e-mail %(email)s already exists.", email=m["email"])),
    (re.compile(r"A user with the e-mail (?P<email>\S+) already exists: \S+\."),
     lambda m: gettext("A user with the e-mail %(email)s already exists.", email=m["email"])),
    (re.compile(r"The deal is already \w+; a closed deal cannot be closed again\."),
     lambda m: gettext("The deal is already closed; it cannot be closed again.")),
]


def say(message: str) -> str:
    """The API's message in the language of the request being served (as it is, outside one)."""
    if not has_request_context() or not isinstance(message, str):
        return message
    if message in KNOWN:
        return gettext(message)
    for shape, said in SHAPES:
        found = shape.fullmatch(message)
        if found:
            return said(found)
    return message


def say_all(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every message of a problem's ``errors``, said in the user's language."""
    return {name: [say(m) for m in messages] if isinstance(messages, list) else messages
            for name, messages in errors.items()}
