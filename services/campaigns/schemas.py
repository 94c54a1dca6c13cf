"""Campaigns' API and event shapes."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.http import ListArgs
from shared.schemas import Base, Money, MoneyAmount, Resource, StrictBase, non_negative_money

from services.campaigns.rules import (ACCOUNT_SEGMENTS, CHANNELS, LIFECYCLE, MEMBER_STATUSES, STATUSES,
                                      TEMPLATE_KEYS, template_problems)

DELIVERY = ("pending", "sending", "sent", "failed", "unknown", "skipped")
SETTABLE_MEMBER_STATUSES = ("responded", "converted", "opted_out")

_text = lambda n: fields.String(validate=validate.Length(min=1, max=n))  # noqa: E731
_list = lambda item, n=100: fields.List(item, validate=validate.Length(max=n))  # noqa: E731


class RevenueBound(fields.Field):
    """Money (``{"amount": "1000000.00", "currency": "EUR"}``) or a bare
    decimal string, read in the campaign's currency; never a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        kwargs.setdefault("metadata", {
            "description": 'Money, or a decimal string in the campaign\'s currency (budget, else actual cost, '
                           'else EUR). Returned as money.',
            "example": {"amount": "1000000.00", "currency": "EUR"}})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            money = Money().load(value)
        else:
            money = {"amount": MoneyAmount().deserialize(value), "currency": None}
        if money["amount"] < 0:
            raise ValidationError("Must not be negative.")
        return money

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class CampaignSegment(StrictBase):
    industry = _list(_text(100))
    country = _list(fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$", error="ISO 3166-1 alpha-2 code, e.g. ES.")))
    region = _list(_text(100))
    account_segment = _list(fields.String(validate=validate.OneOf(ACCOUNT_SEGMENTS)))
    lifecycle_stage = _list(fields.String(validate=validate.OneOf(LIFECYCLE)))
    annual_revenue_min = RevenueBound()
    annual_revenue_max = RevenueBound()
    interests = _list(_text(50))
    products = fields.List(_text(64), validate=validate.Length(max=100), metadata={
        "description": "Accounts that own one of these product codes (from won deals)."})


class SegmentCountIn(StrictBase):
    segment = fields.Nested(CampaignSegment, required=True)


class SegmentCount(Base):
    count = fields.Integer(metadata={"description": "Contacts the segment matches now (as a member build would)."})


class CampaignSegmentOut(Base):
    industry = fields.List(fields.String())
    country = fields.List(fields.String())
    region = fields.List(fields.String())
    account_segment = fields.List(fields.String())
    lifecycle_stage = fields.List(fields.String())
    annual_revenue_min = fields.Nested(Money, allow_none=True)
    annual_revenue_max = fields.Nested(Money, allow_none=True)
    interests = fields.List(fields.String())
    products = fields.List(fields.String())


class CampaignTemplate(StrictBase):
    subject = fields.String(required=True, validate=[
        validate.Length(min=1, max=200),
        validate.Regexp(r"^[^\r\n]*$", error="A subject is one line.")])
    body = fields.String(required=True, validate=validate.Length(min=1, max=50_000))

    @validates_schema
    def _placeholders(self, data, **_):
        errors = {k: template_problems(data[k]) for k in ("subject", "body") if k in data}
        errors = {k: v for k, v in errors.items() if v}
        if errors:
            raise ValidationError(errors)


class CampaignIn(StrictBase):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={
        "description": "New campaigns are draft; POST …/launch makes them active; PATCH may complete them."})
    starts_at = fields.AwareDateTime(allow_none=True)
    ends_at = fields.AwareDateTime(allow_none=True)
    budget = fields.Nested(Money, allow_none=True)
    actual_cost = fields.Nested(Money, allow_none=True)
    owner_id = fields.UUID(allow_none=True)
    segment = fields.Nested(CampaignSegment, allow_none=True)
    templates = fields.Dict(keys=fields.String(validate=validate.OneOf(TEMPLATE_KEYS)),
                            values=fields.Nested(CampaignTemplate), allow_none=True,
                            metadata={"description": "Message texts by lifecycle: prospect, customer, default "
                                                     "or a stage name; placeholders {first_name}, {last_name}, "
                                                     "{name}, {account_name}, {campaign_name}."})

    @validates_schema
    def _money(self, data, **_):
        errors = {}
        for key in ("budget", "actual_cost"):
            try:
                non_negative_money(data.get(key))
            except ValidationError as exc:
                errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)


class CampaignProgress(Base):
    total = fields.Integer()
    sent = fields.Integer()
    pending = fields.Integer()
    failed = fields.Integer()
    unknown = fields.Integer(metadata={"description": "Interrupted mid-send: perhaps delivered, never resent."})
    skipped = fields.Integer(metadata={"description": "Opted out or without an e-mail address."})


class CampaignOut(Resource):
    name = fields.String()
    description = fields.String(allow_none=True)
    channel = fields.String()
    status = fields.String()
    starts_at = fields.AwareDateTime(allow_none=True)
    ends_at = fields.AwareDateTime(allow_none=True)
    budget = fields.Nested(Money, allow_none=True)
    actual_cost = fields.Nested(Money, allow_none=True)
    owner_id = fields.String()
    segment = fields.Nested(CampaignSegmentOut)
    templates = fields.Dict(keys=fields.String(), values=fields.Nested(CampaignTemplate))
    launched_at = fields.AwareDateTime(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    member_count = fields.Integer()
    progress = fields.Nested(CampaignProgress)


class CampaignFilters(ListArgs):
    owner_id = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    account_id = fields.String(metadata={"description": "Campaigns with a member at this account."})
    contact_id = fields.String(metadata={"description": "Campaigns this contact is a member of."})
    q = fields.String(validate=validate.Length(min=1, max=100))


class CampaignMember(Base):
    campaign_id = fields.String()
    contact_id = fields.String()
    account_id = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(MEMBER_STATUSES))
    delivery = fields.String(allow_none=True, validate=validate.OneOf(DELIVERY))
    template = fields.String(allow_none=True)
    message_id = fields.String(allow_none=True)
    sent_at = fields.AwareDateTime(allow_none=True)
    responded_at = fields.AwareDateTime(allow_none=True)
    converted_at = fields.AwareDateTime(allow_none=True)
    opted_out_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class CampaignMemberFilters(ListArgs):
    status = fields.String(validate=validate.OneOf(MEMBER_STATUSES))
    delivery = fields.String(validate=validate.OneOf(DELIVERY))
    account_id = fields.String()


class CampaignMemberPatch(StrictBase):
    status = fields.String(required=True, validate=validate.OneOf(
        SETTABLE_MEMBER_STATUSES, error="Set responded, converted or opted_out (sending sets sent)."))


class CampaignBuild(Base):
    campaign_id = fields.String()
    added = fields.Integer()
    removed = fields.Integer()
    kept = fields.Integer()
    total = fields.Integer()


class CampaignRoiDeal(Base):
    opportunity_id = fields.String()
    account_id = fields.String(allow_none=True)
    amount = fields.Nested(Money)
    won_at = fields.AwareDateTime(allow_none=True)
    reason = fields.String(validate=validate.OneOf(("campaign", "response")))


class CampaignRoi(Base):
    campaign_id = fields.String()
    cost = fields.Nested(Money)
    influenced_revenue = fields.Nested(Money)
    won_deals = fields.Integer()
    roi = fields.Float(allow_none=True, metadata={
        "description": "(influenced_revenue - cost) / cost, rounded half up to 4 places; null when cost is 0."})
    deals = fields.List(fields.Nested(CampaignRoiDeal))
    other_currencies = fields.List(fields.Nested(Money), metadata={
        "description": "Influenced revenue in currencies other than the cost's (not in roi; no conversion)."})


# -- events consumed (unknown fields are ignored) --------------------------------

class _Event(Base):
    pass


class MoneyEvent(_Event):
    amount = fields.Decimal(required=True)
    currency = fields.String(allow_none=True, load_default=None)


class AccountEvent(_Event):
    id = fields.String(required=True)
    version = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    segment = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    annual_revenue = fields.Nested(MoneyEvent, allow_none=True)


class LifecycleEvent(_Event):
    contact_id = fields.String(required=True)
    account_id = fields.String(allow_none=True)
    to = fields.String(required=True)


class _AccountRef(_Event):
    id = fields.String(required=True)


class OpportunityEvent(_Event):
    """opportunities.opportunity.created/.stage_changed/.updated (full
    opportunity) and .won (the won-deal contract)."""

    id = fields.String()
    opportunity_id = fields.String()
    account_id = fields.String(allow_none=True)
    account = fields.Nested(_AccountRef, allow_none=True)
    campaign_id = fields.String(allow_none=True)
    amount = fields.Nested(MoneyEvent, allow_none=True)
    currency = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    won_at = fields.String(allow_none=True)  # parsed leniently by the handler
