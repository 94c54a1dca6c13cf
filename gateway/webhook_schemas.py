"""The webhooks' API shapes."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.http import ListArgs
from shared.schemas import Base, Resource, StrictBase

from gateway.schemas import TopicPattern

URL = dict(validate=validate.Length(min=1, max=2000),
           metadata={"format": "uri", "example": "https://erp.example.com/cadena/events",
                     "description": "http or https; its host must resolve to public addresses only"})
EVENTS = dict(validate=validate.Length(min=1, max=50),
              metadata={"description": "AMQP topic patterns of the events to send, e.g. "
                                       "[\"opportunities.opportunity.won\", \"accounts.#\"]"})
DESCRIPTION = dict(allow_none=True, validate=validate.Length(max=500))


class WebhookIn(StrictBase):
    url = fields.String(required=True, **URL)
    events = fields.List(TopicPattern(), required=True, **EVENTS)
    description = fields.String(**DESCRIPTION)
    enabled = fields.Boolean(load_default=True)


class WebhookPatch(StrictBase):
    url = fields.String(**URL)
    events = fields.List(TopicPattern(), **EVENTS)
    description = fields.String(**DESCRIPTION)
    enabled = fields.Boolean(metadata={"description": "false pauses deliveries; true resumes them (and re-enables "
                                                      "a webhook that was disabled for failing)"})


class WebhookOut(Resource):
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String(allow_none=True)
    enabled = fields.Boolean()
    disabled_at = fields.AwareDateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    previous_secret_expires_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "until then the secret before the last rotation signs too"})


class WebhookCreated(WebhookOut):
    secret = fields.String(metadata={"description": "whsec_…: shown only in this answer; verifies signatures",
                                     "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class WebhookSecret(Base):
    id = fields.String()
    secret = fields.String(metadata={"description": "the new secret, shown only in this answer"})
    previous_secret_expires_at = fields.AwareDateTime(
        metadata={"description": "the old secret signs too until then (24 h)"})


class WebhookFilters(ListArgs):
    enabled = fields.Boolean()


class ReplayIn(StrictBase):
    since = fields.AwareDateTime(required=True, metadata={"description": "send again every matching event of the "
                                                                         "history at or after this time"})


class ReplayAccepted(Base):
    replay_id = fields.String()
    webhook_id = fields.String()
    since = fields.AwareDateTime()
    queued = fields.Integer(metadata={"description": "how many events will be sent again"})


class AttemptFilters(ListArgs):
    event_id = fields.String(validate=validate.Length(min=1, max=64))


class AttemptOut(Base):
    id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    attempt = fields.Integer(metadata={"description": "1 for the first try of this delivery, 2 for its first retry…"})
    at = fields.AwareDateTime()
    status_code = fields.Integer(allow_none=True, metadata={"description": "the endpoint's answer, if any"})
    error = fields.String(allow_none=True, metadata={"description": "why there was no answer (timeout, refused…)"})
    duration_ms = fields.Integer()
    next_retry_at = fields.AwareDateTime(allow_none=True, metadata={"description": "when it is tried again; null "
                                                                                   "when delivered or given up"})
