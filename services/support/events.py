"""Support's events: their payload contracts."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.contracts import EventData, HandoverCompleted, Record, contracts, field_changes, ident, text, time


class Case(Record):
    number = fields.Integer()
    subject = text()
    status = fields.String()
    priority = fields.String()
    account_id = ident(required=False)
    contact_id = ident(required=False)
    requester_email = text()
    requester_name = text()
    assignee_id = ident(required=False)
    first_response_due_at = time()
    resolution_due_at = time()
    changes = field_changes()


class Commented(EventData):
    case_id = ident()
    account_id = ident(required=False)
    public = fields.Boolean()
    body = text()


class SlaBreached(EventData):
    case_id = ident()
    account_id = ident(required=False)
    target = fields.String(required=True, validate=validate.OneOf(("first_response", "resolution")))
    due_at = time(required=True)


class SatisfactionRated(EventData):
    case_id = ident()
    account_id = ident(required=False)
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    changes = field_changes()


class SlaPolicyUpdated(EventData):
    policy = fields.Dict(required=True)
    calendar = fields.Dict(allow_none=True)
    updated_by = ident(required=False)
    changes = field_changes()


CONTRACTS = [
    *contracts("A case was opened, changed, resolved, closed or deleted: the full case.", Case,
               "support.case.opened", "support.case.updated", "support.case.resolved", "support.case.closed",
               "support.case.deleted"),
    *contracts("A comment was added to a case.", Commented, "support.case.commented"),
    *contracts("A case missed an SLA target (once per case and target).", SlaBreached, "support.case.sla_breached"),
    *contracts("A customer rated a resolved case.", SatisfactionRated, "support.case.satisfaction_rated"),
    *contracts("The SLA policy changed.", SlaPolicyUpdated, "support.sla_policy.updated"),
    *contracts("Support finished its part of a handover.", HandoverCompleted, "support.handover.completed"),
]
