"""Schema pieces several services use: money, addresses, e-mail, pages."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import email_validator
from email_validator import EmailNotValidError, validate_email
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

# ISO 4217 active codes.
CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD
CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ
GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB
TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
""".split())


# The largest value a BIGINT column holds; integer arguments compared with one stop there.
MAX_BIGINT = 2**63 - 1


class Base(Schema):
    class Meta:
        unknown = EXCLUDE
        ordered = True


class StrictBase(Schema):
    """Request bodies: unknown fields are an error a client should hear about."""

    class Meta:
        ordered = True


class MoneyAmount(fields.Decimal):
    """A decimal string (or integer) with at most two decimal places; never a float."""

    def __init__(self, **kwargs):
        metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            raise ValidationError('Send money amounts as decimal strings, e.g. "1234.50".')
        if isinstance(value, bool):
            raise ValidationError("Not a valid amount.")
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ValidationError("Not a valid decimal amount.") from None
        if not number.is_finite():
            raise ValidationError("Not a valid decimal amount.")
        if number.as_tuple().exponent < -2:
            raise ValidationError("At most two decimal places.")
        if abs(number) >= Decimal("1e15"):
            raise ValidationError("Amount too large.")
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{Decimal(value):.2f}"


class Money(StrictBase):
    amount = MoneyAmount(required=True, metadata={"example": "1234.50"})
    currency = fields.String(required=True, validate=validate.OneOf(sorted(CURRENCIES), error="Not an ISO 4217 currency code."),
                             metadata={"example": "EUR"})

    @validates_schema
    def _whole(self, data, **_):
        # A PATCH loads with partial=True, which marshmallow passes down to
        # nested schemas; money is still all or nothing.
        missing = {f: ["Missing data for required field."] for f in ("amount", "currency") if f not in data}
        if missing:
            raise ValidationError(missing)


def non_negative_money(data: dict | None) -> None:
    if data and data.get("amount") is not None and data["amount"] < 0:
        raise ValidationError({"amount": ["Must not be negative."]})


class Address(StrictBase):
    street = fields.String(allow_none=True, validate=validate.Length(max=300))
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=20))
    country = fields.String(allow_none=True, validate=validate.Regexp(r"^[A-Z]{2}$", error="ISO 3166-1 alpha-2 code, e.g. ES."))


# Company networks use .local mail domains (the bootstrap admin is
# admin@cadena.local); the library's documented switch is this list.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")


def _remember_domains() -> None:
    """Most of ``validate_email``'s work is checking the domain (IDNA rules
    for each character), and a file of contacts repeats a few domains
    thousands of times: each domain's answer is remembered. It depends on
    the domain, the two flags passed and the module's constants alone; a
    refused domain is checked again each time (its error is not kept)."""
    import importlib
    from functools import lru_cache

    module = importlib.import_module("email_validator.validate_email")
    check = module.validate_email_domain_name

    @lru_cache(maxsize=4096)
    def remembered(domain: str, test_environment: bool, globally_deliverable: bool) -> dict:
        return check(domain, test_environment=test_environment, globally_deliverable=globally_deliverable)

    def validate_email_domain_name(domain, test_environment=False, globally_deliverable=True):
        return dict(remembered(domain, test_environment, globally_deliverable))

    validate_email_domain_name.remembered, validate_email_domain_name.original = remembered, check
    module.validate_email_domain_name = validate_email_domain_name


_remember_domains()


class Email(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return validate_email(text, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise ValidationError(f"Not a valid e-mail address: {exc}") from None


Country = lambda **kw: fields.String(  # noqa: E731
    validate=validate.Regexp(r"^[A-Z]{2}$", error="ISO 3166-1 alpha-2 code, e.g. ES."), **kw)


class Resource(Base):
    id = fields.String(dump_only=True, metadata={"format": "uuid"})
    version = fields.Integer(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


_pages: dict[type, type] = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list envelope ``{items, next_cursor}`` for an item schema."""
    if item_schema not in _pages:
        _pages[item_schema] = type(
            f"{item_schema.__name__.removesuffix('Schema')}Page",
            (Base,),
            {"items": fields.List(fields.Nested(item_schema), required=True),
             "next_cursor": fields.String(allow_none=True, required=True)},
        )
    return _pages[item_schema]


class FieldChange(Base):
    from_ = fields.Raw(data_key="from", attribute="from", allow_none=True, required=True,
                       metadata={"description": "the value before"})
    to = fields.Raw(allow_none=True, required=True, metadata={"description": "the value after"})


class HistoryEntry(Base):
    """One change to a record (CONTRACTS §10): values as the API shows the record."""

    time = fields.AwareDateTime(required=True)
    actor_id = fields.String(allow_none=True, required=True, metadata={
        "description": "who made the change; null for a change made by the system (a job, an event handler)"})
    type = fields.String(required=True, metadata={
        "description": "the event that published the change, e.g. accounts.account.updated"})
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(FieldChange), required=True, metadata={
        "description": "the fields that changed, {field: {from, to}}; a creation's start from null"})


class ProblemSchema(Base):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(),
                         metadata={"description": "Field → messages; nested objects and lists nest the same way."})
