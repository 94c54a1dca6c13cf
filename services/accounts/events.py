"""Accounts' events: their payload contracts."""
from __future__ import annotations

from marshmallow import fields

from shared.contracts import HandoverCompleted, Payload, Record, contracts, ident, money, text


class Account(Record):
    name = fields.String()
    owner_id = ident(required=False)
    industry = text()
    segment = text()
    country = text()
    region = text()
    city = text()
    website = text()
    tax_id = text()
    annual_revenue = money()
    parent_account_id = ident(required=False)


class Contact(Record):
    first_name = text()
    last_name = text()
    nickname = text()
    email = text()
    phone = text()
    title = text()
    account_id = ident(required=False)
    owner_id = ident(required=False)
    lifecycle_stage = text()
    interests = fields.List(fields.String(), allow_none=True)


class AccountDeleted(Payload):
    id = ident()
    name = text()


class ContactDeleted(Payload):
    id = ident()
    account_id = ident(required=False)


class LifecycleChanged(Payload):
    contact_id = ident()
    account_id = ident(required=False)
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)


CONTRACTS = [
    *contracts("An account (company) was created or changed: the full account.", Account,
               "accounts.account.created", "accounts.account.updated"),
    *contracts("An account was deleted (soft).", AccountDeleted, "accounts.account.deleted"),
    *contracts("A contact was created or changed: the full contact.", Contact,
               "accounts.contact.created", "accounts.contact.updated"),
    *contracts("A contact was deleted (soft).", ContactDeleted, "accounts.contact.deleted"),
    *contracts("A contact moved in its lifecycle (prospect → potential → active → inactive customer).",
               LifecycleChanged, "accounts.contact.lifecycle_changed"),
    *contracts("Accounts finished its part of a handover.", HandoverCompleted, "accounts.handover.completed"),
]
