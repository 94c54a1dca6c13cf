"""Accounts' events: their payload contracts."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.contracts import (EventData, HandoverCompleted, Record, contracts, field_changes,
                              ident, money, text)


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
    changes = field_changes()


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
    changes = field_changes()


class AccountDeleted(EventData):
    id = ident()
    name = text()


class ContactDeleted(EventData):
    id = ident()
    account_id = ident(required=False)


class LifecycleChanged(EventData):
    contact_id = ident()
    account_id = ident(required=False)
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)


class Merged(EventData):
    survivor_id = ident()
    merged_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                             validate=validate.Length(min=1))
    account_id = ident(required=False)  # the survivor's account (for an account, the survivor itself)
    chosen = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True, data_key="fields")


CONTRACTS = [
    *contracts("An account (company) was created or changed: the full account.", Account,
               "accounts.account.created", "accounts.account.updated"),
    *contracts("An account was deleted (soft).", AccountDeleted, "accounts.account.deleted"),
    *contracts("A contact was created or changed: the full contact.", Contact,
               "accounts.contact.created", "accounts.contact.updated"),
    *contracts("A contact was deleted (soft).", ContactDeleted, "accounts.contact.deleted"),
    *contracts("A contact moved in its lifecycle (prospect → potential → active → inactive customer).",
               LifecycleChanged, "accounts.contact.lifecycle_changed"),
    *contracts("Accounts were merged into one (`survivor_id`); the merged ones stay, marked `merged_into`, and "
               "whatever pointed to a merged id should point to the survivor. `fields` names the merged record "
               "whose value the survivor took, per field.", Merged, "accounts.account.merged"),
    *contracts("Contacts were merged into one (`survivor_id`); the merged ones stay, marked `merged_into`, and "
               "whatever pointed to a merged id should point to the survivor. `account_id` is the survivor's "
               "account.", Merged, "accounts.contact.merged"),
    *contracts("Accounts finished its part of a handover.", HandoverCompleted, "accounts.handover.completed"),
]
