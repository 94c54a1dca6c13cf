"""The API explains a refused field in English; the console says the same in
the user's language. A message is known whole (the API's own words are the
catalogue's msgids, marked with ``N_`` so extraction finds them) or by its
shape (those that carry a value: a length, the choices, a row); one the
console does not know is shown as the API wrote it, which is still better
than nothing beside the field."""
from __future__ import annotations

import re
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

# A message with values in it: its shape, and the catalogue's text with the
# shape's named parts in it (a part that is itself a known message is said too).
SHAPES: list[tuple[re.Pattern, str]] = [(re.compile(shape), text) for shape, text in (
    (r"Not a valid e-mail address: (?P<why>.+)", N_("Not a valid e-mail address: %(why)s")),
    (r"Must be one of: (?P<choices>.+)\.", N_("Must be one of: %(choices)s.")),
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.", N_("Length must be between %(min)s and %(max)s.")),
    (r"Longer than maximum length (?P<max>\d+)\.", N_("Longer than maximum length %(max)s.")),
    (r"Shorter than minimum length (?P<min>\d+)\.", N_("Shorter than minimum length %(min)s.")),
    (r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
     N_("Must be between %(min)s and %(max)s.")),
    (r"Must be greater than or equal to (?P<min>\S+)\.", N_("Must be %(min)s or more.")),
    (r"Must be less than or equal to (?P<max>\S+)\.", N_("Must be %(max)s or less.")),
    (r"The same (?P<field>\w+) as row (?P<row>\d+)\.", N_("The same %(field)s as row %(row)s.")),
    (r"Already used by contact (?P<id>\S+)\.", N_("Already used by contact %(id)s.")),
    (r"A contact with the email (?P<email>\S+) already exists: \S+\.",
     N_("A contact with the e-mail %(email)s already exists.")),
    (r"A user with the e-mail (?P<email>\S+) already exists: \S+\.",
     N_("A user with the e-mail %(email)s already exists.")),
    (r"The deal is already \w+; a closed deal cannot be closed again\.",
     N_("The deal is already closed; it cannot be closed again.")),
)]


def say(message: str) -> str:
    """The API's message in the language of the request being served (as it is, outside one)."""
    if not has_request_context() or not isinstance(message, str):
        return message
    if message in KNOWN:
        return gettext(message)
    for shape, text in SHAPES:
        found = shape.fullmatch(message)
        if found:
            return gettext(text, **{name: say(part) for name, part in found.groupdict().items()})
    return message


def say_all(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every message of a problem's ``errors``, said in the user's language."""
    return {name: [say(m) for m in messages] if isinstance(messages, list) else messages
            for name, messages in errors.items()}
