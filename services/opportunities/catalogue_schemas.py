"""Shapes of the product catalogue, exchange rates, installed base and
recommendations (CONTRACTS §11)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.http import ListArgs
from shared.schemas import Base, Money, Resource, StrictBase

from services.opportunities.rules import MAX_AMOUNT

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,63}$",
                       error="Letters, digits and . _ / - (up to 64), starting with a letter or digit.")


class ProductIn(StrictBase):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    family = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    unit_price = fields.Nested(Money, allow_none=True, metadata={"description": "The list price (optional)."})
    active = fields.Boolean(metadata={"description": "Sold today (default true); inactive ones are never "
                                                     "recommended."})

    @validates_schema
    def _price(self, data, **_):
        price = data.get("unit_price")
        if price and (price["amount"] < 0 or price["amount"] >= MAX_AMOUNT):
            raise ValidationError({"amount": ["Must be at least 0 and below 1000000000000."]}, "unit_price")


class ProductOut(Resource):
    code = fields.String()
    name = fields.String()
    family = fields.String(allow_none=True)
    unit_price = fields.Nested(Money, allow_none=True)
    active = fields.Boolean()


class ProductFilters(ListArgs):
    code = fields.String(validate=validate.Length(min=1, max=64))
    family = fields.String(validate=validate.Length(min=1, max=100))
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "code or name contains"})


class Rate(fields.Field):
    """A positive decimal string (or integer) with at most 12 decimals; never a float."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError('A decimal string, e.g. "0.92".')
        try:
            rate = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise ValidationError('A decimal string, e.g. "0.92".') from None
        if not rate.is_finite() or rate <= 0:
            raise ValidationError("Must be greater than 0.")
        if rate >= Decimal("1e12") or rate != rate.quantize(Decimal("1e-12")):
            raise ValidationError("Below 1000000000000, with at most 12 decimal places.")
        return rate

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class AsOf(fields.Field):
    """An RFC 3339 time with a zone, or a day (then its start, UTC)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("An RFC 3339 time or a YYYY-MM-DD day.")
        try:
            if len(value) == 10:
                return datetime.combine(date.fromisoformat(value), time(), tzinfo=timezone.utc)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("An RFC 3339 time or a YYYY-MM-DD day.") from None
        if moment.tzinfo is None:
            raise ValidationError("A time needs its zone (e.g. Z).")
        if not 1970 <= moment.year <= 9999:
            raise ValidationError("Out of range.")
        return moment.astimezone(timezone.utc)


class ExchangeRateIn(StrictBase):
    rate = Rate(required=True, metadata={"type": "string", "example": "0.92",
                                         "description": "Units of the base currency per 1 unit of this one."})
    as_of = AsOf(metadata={"type": "string", "format": "date-time",
                           "description": "When the rate holds (default: now); a day is read as its start, UTC."})


class ExchangeRateOut(Base):
    currency = fields.String()
    base_currency = fields.String()
    rate = fields.String(metadata={"description": "Units of the base currency per 1 unit of `currency`."})
    as_of = fields.AwareDateTime()
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ExchangeRateList(Base):
    base_currency = fields.String()
    items = fields.List(fields.Nested(ExchangeRateOut))
    next_cursor = fields.String(allow_none=True)


class InstalledProduct(Base):
    product_code = fields.String()
    name = fields.String(allow_none=True)
    family = fields.String(allow_none=True)
    quantity = fields.Raw(metadata={"type": "number"})
    deals = fields.Integer(metadata={"description": "Won deals that carried it."})
    first_won_at = fields.AwareDateTime()
    last_won_at = fields.AwareDateTime()


class InstalledBase(Base):
    account_id = fields.String()
    items = fields.List(fields.Nested(InstalledProduct))


class Recommendation(Base):
    product_code = fields.String()
    name = fields.String()
    family = fields.String(allow_none=True)
    unit_price = fields.Nested(Money, allow_none=True)
    owners = fields.Integer(metadata={"description": "How many accounts of the same industry or segment own it."})
    same_industry = fields.Integer(metadata={"description": "Of those, how many share the industry."})
    same_segment = fields.Integer(metadata={"description": "Of those, how many share the segment."})
    reason = fields.String(metadata={"description": "Why, in words."})


class Recommendations(Base):
    account_id = fields.String()
    industry = fields.String(allow_none=True)
    segment = fields.String(allow_none=True)
    items = fields.List(fields.Nested(Recommendation))


class RecommendationArgs(StrictBase):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))
