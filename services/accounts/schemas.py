"""Accounts' API and event shapes."""
from __future__ import annotations

from marshmallow import fields, validate, validates_schema, ValidationError

from shared.http import ListArgs
from shared.schemas import Address, Base, Country, Email, Money, Resource, StrictBase, non_negative_money

SEGMENTS = ("transactional", "solutions", "relational", "collaborative")
ROLES = ("decision_maker", "influencer", "user", "other")
LIFECYCLE = ("prospect", "potential_customer", "active_customer", "inactive_customer")
RISKS = ("low", "medium", "high")

_str = lambda n, **kw: fields.String(allow_none=True, validate=validate.Length(max=n), **kw)  # noqa: E731
_id = lambda **kw: fields.UUID(allow_none=True, **kw)  # noqa: E731


class AccountIn(StrictBase):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    industry = _str(100)
    segment = fields.String(allow_none=True, validate=validate.OneOf(SEGMENTS))
    country = Country(allow_none=True)
    region = _str(100)
    city = _str(100)
    website = fields.Url(allow_none=True, validate=validate.Length(max=300))
    tax_id = _str(50)
    billing_address = fields.Nested(Address, allow_none=True)
    annual_revenue = fields.Nested(Money, allow_none=True)
    employees = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=10_000_000))
    owner_id = _id()
    parent_account_id = _id()
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=50))
    notes = fields.String(allow_none=True, validate=validate.Length(max=20_000))

    @validates_schema
    def _revenue(self, data, **_):
        try:
            non_negative_money(data.get("annual_revenue"))
        except ValidationError as exc:
            raise ValidationError({"annual_revenue": exc.messages}) from None


class AccountOut(Resource, AccountIn):
    owner_id = fields.String()
    parent_account_id = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    name = fields.String()


class AccountFilters(ListArgs):
    owner_id = fields.String()
    industry = fields.String()
    segment = fields.String(validate=validate.OneOf(SEGMENTS))
    country = fields.String()
    region = fields.String()
    city = fields.String()
    tag = fields.String()
    parent_account_id = fields.String()
    lifecycle_stage = fields.String(validate=validate.OneOf(LIFECYCLE),
                                    metadata={"description": "accounts with a contact at this stage"})
    q = fields.String(validate=validate.Length(min=1, max=100))
    sort = fields.String(validate=validate.OneOf(("created_at", "-lifetime_value", "lifetime_value")), metadata={
        "description": "`-lifetime_value`: the most valuable customers first (each item then carries "
                       "`lifetime_value`); default: oldest first."})


class AccountListItem(Resource, AccountIn):
    owner_id = fields.String()
    parent_account_id = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    name = fields.String()
    lifetime_value = fields.Nested(Money, allow_none=True, metadata={
        "description": "Only when sorted by lifetime value: the won total in the base currency."})


class ContactIn(StrictBase):
    first_name = _str(100)
    last_name = _str(100)
    nickname = _str(100)
    email = Email(allow_none=True, validate=validate.Length(max=320))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ().\-]{5,30}$", error="Not a phone number."))
    title = _str(150)
    account_id = _id()
    role = fields.String(allow_none=True, validate=validate.OneOf(ROLES))
    reports_to_id = _id()
    lifecycle_stage = fields.String(validate=validate.OneOf(LIFECYCLE))
    owner_id = _id()
    interests = fields.List(fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=50))
    notes = fields.String(allow_none=True, validate=validate.Length(max=20_000))

    @validates_schema
    def _someone(self, data, partial=False, **_):
        if partial:
            return
        if not any(data.get(k) for k in ("first_name", "last_name", "email")):
            raise ValidationError("Give at least a first_name, a last_name or an email.", "first_name")


class ContactOut(Resource, ContactIn):
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    reports_to_id = fields.String(allow_none=True)
    owner_id = fields.String()
    name = fields.String(dump_only=True)


class ContactFilters(ListArgs):
    owner_id = fields.String()
    account_id = fields.String()
    lifecycle_stage = fields.String(validate=validate.OneOf(LIFECYCLE))
    role = fields.String(validate=validate.OneOf(ROLES))
    email = fields.String()
    interest = fields.String()
    q = fields.String(validate=validate.Length(min=1, max=100))


class OrgNode(Base):
    id = fields.String()
    name = fields.String()
    title = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    reports = fields.List(fields.Nested(lambda: OrgNode()))


class OrgChart(Base):
    account_id = fields.String()
    roots = fields.List(fields.Nested(OrgNode))


class AccountViewOut(Base):
    account_id = fields.String()
    open_cases = fields.Integer()
    breached_cases = fields.Integer()
    low_satisfaction = fields.Integer()
    open_pipeline = fields.Nested(Money)
    won_total = fields.Nested(Money)
    won_deals = fields.Integer()
    last_activity_at = fields.AwareDateTime(allow_none=True)
    health_score = fields.Integer()
    churn_risk = fields.String(validate=validate.OneOf(RISKS))
    health_reasons = fields.List(fields.String())
    lifetime_value = fields.Nested(Money, allow_none=True, metadata={
        "description": "Won total in the base currency at the current rates; null while a won deal's currency "
                       "has no exchange rate (see lifetime_value_missing_rates)."})
    lifetime_value_missing_rates = fields.List(fields.String(), metadata={
        "description": "Currencies of won deals without an exchange rate (then lifetime_value is null)."})


def _few(chosen: dict) -> None:
    if len(chosen) > 30:
        raise ValidationError("At most 30 fields.")


class MergeIn(StrictBase):
    merge_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=20),
                            metadata={"description": "the records to fold into this one (live, of the same kind)"})
    fields_ = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)), values=fields.UUID(),
                          load_default=dict, data_key="fields", attribute="fields", validate=_few,
                          metadata={"description": "field → the id of the record whose value the survivor keeps "
                                                   "(default: the survivor's own)"})
