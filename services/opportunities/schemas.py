"""Opportunities' API and event shapes."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.http import ListArgs
from shared.schemas import CURRENCIES, Base, Money, Resource, StrictBase

from services.opportunities.rules import FORECAST_CATEGORIES, MAX_AMOUNT, STAGE_NAMES

STATUSES = ("open", "won", "lost")

_id = lambda **kw: fields.UUID(allow_none=True, **kw)  # noqa: E731
_day = validate.Range(min=date(1970, 1, 1), max=date(9999, 12, 31))


def _check_money(data: dict, field: str) -> None:
    money = data.get(field)
    if not money:
        return
    if money["amount"] < 0:
        raise ValidationError({"amount": ["Must not be negative."]}, field)
    if money["amount"] >= MAX_AMOUNT:
        raise ValidationError({"amount": ["Must be below 1000000000000."]}, field)


class Quantity(fields.Field):
    """A positive number with at most two decimals; read as Decimal, written
    as a JSON number (an integer when whole)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValidationError("Not a valid quantity.")
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ValidationError("Not a valid quantity.") from None
        if not number.is_finite() or number <= 0:
            raise ValidationError("Must be greater than 0.")
        if number >= Decimal("1e9"):
            raise ValidationError("Quantity too large.")
        if number != number.quantize(Decimal("0.01")):  # "1.500" is fine, "1.505" is not
            raise ValidationError("At most two decimal places.")
        return number.quantize(Decimal("0.01"))

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)


class LineItemIn(StrictBase):
    product_code = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    quantity = Quantity(required=True, metadata={"type": "number", "example": 3})
    unit_price = fields.Nested(Money, metadata={
        "description": "Required unless product_code is in the catalogue with a price (then that price)."})

    @validates_schema
    def _named(self, data, **_):
        if not data.get("product_code") and not data.get("description"):
            raise ValidationError("Give a product_code or a description.", "product_code")
        _check_money(data, "unit_price")


class LineItemOut(Base):
    product_code = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    name = fields.String(allow_none=True, metadata={
        "description": "The catalogue's name when product_code is in it, else the description."})
    family = fields.String(allow_none=True, metadata={"description": "The catalogue product's family, if any."})
    quantity = Quantity(metadata={"type": "number"})
    unit_price = fields.Nested(Money)
    total = fields.Nested(Money, metadata={"description": "quantity × unit_price, rounded half up to the cent"})


class OpportunityIn(StrictBase):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    account_id = fields.UUID(required=True)
    primary_contact_id = _id()
    amount = fields.Nested(Money, metadata={"description": "Required unless line_items are given (then their sum)."})
    close_date = fields.Date(validate=_day, metadata={"description": "Defaults to the last day of the current quarter."})
    stage = fields.String(validate=validate.OneOf(STAGE_NAMES))
    probability = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100),
                                 metadata={"description": "Defaults from the stage."})
    forecast_category = fields.String(allow_none=True, validate=validate.OneOf(FORECAST_CATEGORIES),
                                      metadata={"description": "Derived from the stage unless set."})
    owner_id = _id()
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    campaign_id = _id()
    line_items = fields.List(fields.Nested(LineItemIn), validate=validate.Length(max=200))

    @validates_schema
    def _amount(self, data, **_):
        _check_money(data, "amount")


class OpportunityOut(Resource):
    name = fields.String()
    account_id = fields.String()
    primary_contact_id = fields.String(allow_none=True)
    amount = fields.Nested(Money)
    close_date = fields.Date()
    stage = fields.String()
    probability = fields.Integer()
    forecast_category = fields.String()
    owner_id = fields.String()
    description = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    line_items = fields.List(fields.Nested(LineItemOut))
    closed_at = fields.AwareDateTime(allow_none=True, metadata={"description": "When it was won or lost."})
    close_reason = fields.String(allow_none=True)


class OpportunityFilters(ListArgs):
    owner_id = fields.String()
    account_id = fields.String()
    primary_contact_id = fields.String()
    campaign_id = fields.String()
    stage = fields.String(validate=validate.OneOf(STAGE_NAMES))
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={"description": "open, won or lost"})
    forecast_category = fields.String(validate=validate.OneOf(FORECAST_CATEGORIES))
    currency = fields.String(validate=validate.Length(equal=3))
    close_date_from = fields.Date(validate=_day)
    close_date_to = fields.Date(validate=_day)
    team = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "deals owned by the team"})
    q = fields.String(validate=validate.Length(min=1, max=100))


class OpportunityCloseIn(StrictBase):
    reason = fields.String(allow_none=True, validate=validate.Length(max=500))
    close_date = fields.Date(validate=_day, metadata={"description": "Defaults to the day of closing (UTC)."})


class PipelineStageInfo(Base):
    stage = fields.String()
    name = fields.String()
    probability = fields.Integer()
    forecast_category = fields.String()
    is_open = fields.Boolean()
    order = fields.Integer()


class PipelineStageList(Base):
    items = fields.List(fields.Nested(PipelineStageInfo))
    next_cursor = fields.String(allow_none=True)


class ScopeArgs(StrictBase):
    owner_id = fields.String(validate=validate.Length(min=1, max=36))
    team = fields.String(validate=validate.Length(min=1, max=100))
    currency = fields.String(validate=validate.OneOf(sorted(CURRENCIES), error="An ISO 4217 code, e.g. EUR."),
                             metadata={"description": "Only the deals in this currency, unconverted. Without it "
                                                      "every deal counts, converted to the base currency."})


class PipelineStage(Base):
    stage = fields.String()
    count = fields.Integer()
    amount = fields.Nested(Money)
    weighted_amount = fields.Nested(Money)


class PipelineTotals(Base):
    count = fields.Integer()
    amount = fields.Nested(Money)
    weighted_amount = fields.Nested(Money)


def _rates() -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The rates used to convert to the base currency (currency → base units per 1)."})


class Pipeline(Base):
    currency = fields.String()
    rates = _rates()
    stages = fields.List(fields.Nested(PipelineStage))
    totals = fields.Nested(PipelineTotals)


class ForecastArgs(ScopeArgs):
    period = fields.String(metadata={"description": "2026-Q4 or 2026-11; defaults to the current quarter."})


class Forecast(Base):
    period = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    currency = fields.String()
    quota = fields.Nested(Money)
    closed_won = fields.Nested(Money)
    commit = fields.Nested(Money)
    best_case = fields.Nested(Money)
    pipeline = fields.Nested(Money)
    weighted_pipeline = fields.Nested(Money)
    attainment = fields.Float(allow_none=True, metadata={"description": "closed_won / quota; null without a quota"})
    rates = _rates()


class QuotaIn(StrictBase):
    amount = fields.Nested(Money, required=True)

    @validates_schema
    def _positive(self, data, **_):
        _check_money(data, "amount")


class QuotaOut(Base):
    user_id = fields.String()
    period = fields.String()
    amount = fields.Nested(Money)
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class QuotaFilters(ListArgs):
    user_id = fields.String()
    period = fields.String()


# -- event payloads (what consumers read; CONTRACTS §5) ------------------------

class AccountCard(Base):
    id = fields.String()
    name = fields.String()
    tax_id = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    billing_address = fields.Dict(allow_none=True)


class ContactCard(Base):
    id = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)


class WonDeal(Base):
    """opportunities.opportunity.won — the won-deal contract (docs/billing-won-deal.md)."""

    opportunity_id = fields.String()
    account = fields.Nested(AccountCard)
    primary_contact = fields.Nested(ContactCard, allow_none=True)
    owner_id = fields.String()
    amount = fields.Nested(Money)
    close_date = fields.Date()
    won_at = fields.AwareDateTime()
    line_items = fields.List(fields.Nested(LineItemOut))
    currency = fields.String()
    # additions beyond the contract's minimum
    name = fields.String()
    campaign_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)

