"""Activities' events: their payload contracts."""
from __future__ import annotations

from marshmallow import fields

from shared.contracts import EventData, HandoverCompleted, Record, contracts, field_changes, ident, text, time


class Activity(Record):
    type = fields.String()
    subject = text()
    status = fields.String()
    owner_id = ident(required=False)
    account_id = ident(required=False)
    contact_id = ident(required=False)
    opportunity_id = ident(required=False)
    case_id = ident(required=False)
    starts_at = time()
    due_at = time()
    completed_at = time()
    changes = field_changes()


class ReminderDue(EventData):
    activity_id = ident()
    owner_id = ident(required=False)
    remind_at = time(required=True)
    subject = text()


CONTRACTS = [
    *contracts("An activity (call, meeting, visit, e-mail, task) was created, changed, completed, cancelled "
               "or deleted: the full activity.", Activity,
               "activities.activity.created", "activities.activity.updated", "activities.activity.completed",
               "activities.activity.cancelled", "activities.activity.deleted"),
    *contracts("A reminder is due (once per arming, with any number of workers).", ReminderDue,
               "activities.activity.reminder_due"),
    *contracts("Activities finished its part of a handover.", HandoverCompleted, "activities.handover.completed"),
]
