"""Identity's events (the gateway owns users): their payload contracts."""
from __future__ import annotations

from marshmallow import fields

from shared.contracts import EventData, contracts, field_changes, ident, text


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


CONTRACTS = [
    *contracts("A user was created or changed (never a password hash).", User,
               "identity.user.created", "identity.user.updated"),
    *contracts("A leaving user's open work is to pass to a successor; every service moves its own.",
               HandoverRequested, "identity.user.handover_requested"),
]
