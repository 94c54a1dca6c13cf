"""A quick yes for event payloads that plainly keep their contract.

Every consumer checks every event it reads against its contract, and every
write checks the events it publishes (shared/contracts.py): one marshmallow
``load`` of a dozen fields, about a quarter of a consumer's CPU per event.
:func:`compile_schema` turns a contract schema into a function that answers
True only when the payload is one marshmallow would load — each value
already of its field's plain JSON type (a str for a String, an int for an
Integer, an ISO string ``datetime.fromisoformat`` reads for a DateTime…),
every field's own validators passed — and False whenever it is not sure.
False is never a verdict: the caller then asks marshmallow, whose answer
(and message) stands. A schema or field this module does not know compiles
to None, and marshmallow checks it as before.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from marshmallow import RAISE, Schema, ValidationError, fields

Check = Callable[[Any], bool]
_SKIP = object()  # a key the payload lacks, or a value not in its field's plain form


def compile_schema(schema: Schema) -> Check | None:
    """A payload check for ``schema`` (an instance), or None if it has hooks,
    options or fields the quick check does not cover."""
    if any(schema._hooks.values()) or schema.only or schema.exclude or schema.many:
        return None
    known = []
    for name, field in schema.load_fields.items():
        check = _compile_field(field)
        if check is None:
            return None
        known.append((field.data_key or name, field.required, check))
    keys = frozenset(key for key, _, _ in known)
    strict = schema.unknown == RAISE

    def check_payload(data: Any) -> bool:
        if type(data) is not dict or (strict and not keys.issuperset(data)):
            return False
        for key, required, check in known:
            value = data.get(key, _SKIP)
            if value is _SKIP:
                if required:
                    return False
            elif not check(value):
                return False
        return True

    return check_payload


def _compile_field(field: fields.Field) -> Check | None:
    """A value check for one field: None passes only where the field allows
    it (validators are not run on None, as in marshmallow), otherwise the
    value must be of the plain type and pass the field's validators."""
    if field.pre_load or field.post_load:
        return None
    if field.validators and isinstance(field, (fields.Nested, fields.List, fields.Dict)):
        return None  # marshmallow validates what it loaded, which may differ from the JSON (a datetime inside)
    convert = _converter(field)
    if convert is None:
        return None
    validators = tuple(field.validators)
    allow_none = field.allow_none

    def check_value(value: Any) -> bool:
        if value is None:
            return allow_none
        output = convert(value)
        if output is _SKIP:
            return False
        for validator in validators:
            try:
                if validator(output) is False:
                    return False
            except ValidationError:
                return False
        return True

    return check_value


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """What marshmallow's ``_deserialize`` makes of a plain value (``_SKIP``
    where the value is not plain), for the field types contracts use."""
    kind = type(field)
    if kind is fields.String:
        return lambda value: value if type(value) is str else _SKIP
    if kind is fields.Integer:
        return lambda value: value if type(value) is int else _SKIP
    if kind is fields.Boolean:  # True and False, where the field's truthy and falsy sets take them
        plain = {v for v, taken in ((True, not field.truthy or True in field.truthy),
                                    (False, not field.falsy or False in field.falsy)) if taken}
        return lambda value: value if (value is True or value is False) and value in plain else _SKIP
    if kind is fields.Raw:
        return lambda value: value
    if kind is fields.DateTime and _format(field) in ("iso", "iso8601"):
        return _iso_datetime
    if kind is fields.Nested:
        return _nested(field)
    if kind is fields.List:
        inner = _compile_field(field.inner)
        return None if inner is None else (
            lambda value: value if type(value) is list and all(inner(item) for item in value) else _SKIP)
    if kind is fields.Dict:
        return _mapping(field)
    return None


def _format(field: fields.DateTime) -> str:
    opts = getattr(field.root, "opts", None)
    return field.format or getattr(opts, "datetimeformat", None) or "iso"


def _iso_datetime(value: Any) -> Any:
    if type(value) is not str:
        return _SKIP
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return _SKIP


def _nested(field: fields.Nested) -> Callable[[Any], Any] | None:
    if field.many or field.only or field.exclude or not isinstance(field.nested, type) \
            or not issubclass(field.nested, Schema):
        return None
    schema = field.schema
    if field.unknown is not None and field.unknown != schema.unknown:
        return None
    check = compile_schema(schema)
    return None if check is None else (lambda value: value if check(value) else _SKIP)


def _mapping(field: fields.Dict) -> Callable[[Any], Any] | None:
    keys = _compile_field(field.key_field) if field.key_field is not None else (lambda key: True)
    values = _compile_field(field.value_field) if field.value_field is not None else (lambda value: True)
    if keys is None or values is None:
        return None

    def convert(value: Any) -> Any:
        if type(value) is not dict:
            return _SKIP
        for key, item in value.items():
            if not keys(key) or not values(item):
                return _SKIP
        return value

    return convert
