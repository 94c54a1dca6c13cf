"""Opportunities' events: their payload contracts (the won deal is the
billing contract, docs/billing-won-deal.md)."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.contracts import (EventData, HandoverCompleted, Payload, Record, contracts,
                              field_changes, ident, money, text, time)


class Opportunity(Record):
    name = fields.String()
    account_id = ident(required=False)
    owner_id = ident(required=False)
    stage = fields.String()
    amount = money()
    probability = fields.Integer(allow_none=True)
    campaign_id = ident(required=False)
    changes = field_changes()


class StageChanged(Opportunity):
    from_stage = fields.String(required=True)


class WonAccount(Payload):
    id = ident()
    name = text()
    tax_id = text()
    country = text()
    billing_address = fields.Dict(allow_none=True)


class LineItem(Payload):
    product_code = text()
    description = text()
    name = text()
    family = text()
    quantity = fields.Raw(allow_none=True)
    unit_price = money()
    total = money()


class Won(EventData):
    opportunity_id = ident()
    account = fields.Nested(WonAccount, required=True)
    primary_contact = fields.Dict(allow_none=True)
    owner_id = ident(required=False)
    amount = money(required=True)
    close_date = fields.String(required=True)
    won_at = time(required=True)
    line_items = fields.List(fields.Nested(LineItem), required=True)
    currency = fields.String(required=True)
    changes = field_changes()


class Lost(EventData):
    opportunity_id = ident()
    account_id = ident(required=False)
    amount = money()
    reason = text()
    changes = field_changes()


class Product(Record):
    code = fields.String(required=True)
    name = fields.String(required=True)
    family = text()
    unit_price = money()
    active = fields.Boolean()
    changes = field_changes()


class ProductDeleted(Payload):
    id = ident()
    code = fields.String(required=True)


class ExchangeRateUpdated(EventData):
    currency = fields.String(required=True)
    base_currency = fields.String(required=True)
    rate = fields.String(required=True, validate=validate.Regexp(r"^\d+(\.\d+)?$"))
    as_of = time(required=True)
    version = fields.Integer(required=True)
    changes = field_changes()


class Deleted(EventData):
    id = ident()
    opportunity_id = ident()
    account_id = ident(required=False)


CONTRACTS = [
    *contracts("A deal was created or changed: the full opportunity.", Opportunity,
               "opportunities.opportunity.created", "opportunities.opportunity.updated"),
    *contracts("A deal moved to another open stage: the full opportunity and `from_stage`.", StageChanged,
               "opportunities.opportunity.stage_changed"),
    *contracts("A deal was won: the won-deal contract billing and accounting rely on.", Won,
               "opportunities.opportunity.won"),
    *contracts("A deal was lost, with the reason.", Lost, "opportunities.opportunity.lost"),
    *contracts("A deal was deleted (soft).", Deleted, "opportunities.opportunity.deleted"),
    *contracts("A catalogue product was added or changed: the full product.", Product,
               "opportunities.product.created", "opportunities.product.updated"),
    *contracts("A product left the catalogue (soft delete).", ProductDeleted, "opportunities.product.deleted"),
    *contracts("A currency's rate into the base currency was set: units of base per 1 unit.",
               ExchangeRateUpdated, "opportunities.exchange_rate.updated"),
    *contracts("Opportunities finished its part of a handover.", HandoverCompleted,
               "opportunities.handover.completed"),
]
