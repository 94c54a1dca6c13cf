"""The gateway's events: identity's (the gateway owns users) and webhooks'."""
from __future__ import annotations

from marshmallow import fields

from shared.contracts import EventData, Payload, contracts, field_changes, ident, text, time


class User(EventData):
    id = ident()
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    team = text()
    manager_id = ident(required=False)
    active = fields.Boolean(required=True)
    token_generation = fields.Integer(load_default=0, metadata={
        "description": "tokens issued under an older generation are refused"})
    changes = field_changes()


class HandoverRequested(EventData):
    handover_id = ident()
    from_user_id = ident()
    to_user_id = ident()


class WebhookDisabled(Payload):
    id = ident()
    url = fields.String(required=True)
    reason = fields.String(required=True)
    disabled_at = time(required=True)
    failing_since = time()


class WebhookDeleted(Payload):
    id = ident()
    url = fields.String(required=True)


CONTRACTS = [
    *contracts("A user was created or changed (never a password hash).", User,
               "identity.user.created", "identity.user.updated"),
    *contracts("A leaving user's open work is to pass to a successor; every service moves its own.",
               HandoverRequested, "identity.user.handover_requested"),
    *contracts("A webhook was disabled: its deliveries kept failing for the whole retry window (3 days by "
               "default). Nothing more is sent to it until an admin enables it again.",
               WebhookDisabled, "gateway.webhook.disabled"),
    *contracts("A webhook was deleted.", WebhookDeleted, "gateway.webhook.deleted"),
]
