"""The gateway's API shapes."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_dump, validate, validates_schema

from shared.auth import ROLES
from shared.http import ListArgs
from shared.schemas import Base, Email, Resource, StrictBase


class TokenRequest(StrictBase):
    """A person's e-mail and password, or an API client's id and secret
    (``grant_type: client_credentials``)."""

    grant_type = fields.String(load_default="password", validate=validate.OneOf(("password", "client_credentials")))
    email = fields.String(validate=validate.Length(min=1, max=320))
    password = fields.String(validate=validate.Length(min=1, max=1000), load_only=True)
    client_id = fields.String(validate=validate.Length(min=1, max=64))
    client_secret = fields.String(validate=validate.Length(min=1, max=200), load_only=True)

    @validates_schema
    def _fields_of_the_grant(self, data, **_kwargs):
        needed = ("client_id", "client_secret") if data.get("grant_type") == "client_credentials" else (
            "email", "password")
        missing = {name: ["Missing data for required field."] for name in needed if not data.get(name)}
        if missing:
            raise ValidationError(missing)


class TokenResponse(Base):
    access_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"example": 900, "description": "seconds; at most 900"})
    refresh_token = fields.String(metadata={"description": "works once: POST /api/v1/auth/refresh for a new pair"})


class RefreshRequest(StrictBase):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class ApiClientIn(StrictBase):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class ApiClientOut(Base):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    client_id = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class ApiClientCreated(ApiClientOut):
    client_secret = fields.String(metadata={"description": "shown only in this answer; kept hashed"})


class ApiClientFilters(ListArgs):
    active = fields.Boolean()


class UserIn(StrictBase):
    email = Email(required=True, validate=validate.Length(max=320))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    team = fields.String(allow_none=True, validate=validate.Length(max=100))
    manager_id = fields.UUID(allow_none=True)
    active = fields.Boolean(load_default=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=1000))


class UserPatch(StrictBase):
    email = Email(validate=validate.Length(max=320))
    name = fields.String(validate=validate.Length(min=1, max=200))
    role = fields.String(validate=validate.OneOf(ROLES))
    team = fields.String(allow_none=True, validate=validate.Length(max=100))
    manager_id = fields.UUID(allow_none=True)
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=1000))


class UserOut(Resource):
    email = fields.String()
    name = fields.String()
    role = fields.String()
    team = fields.String(allow_none=True)
    manager_id = fields.String(allow_none=True)
    active = fields.Boolean()


class UserFilters(ListArgs):
    role = fields.String(validate=validate.OneOf(ROLES))
    team = fields.String()
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=100))


class Jwks(Base):
    keys = fields.List(fields.Dict())


class HandoverIn(StrictBase):
    to_user_id = fields.UUID(required=True)


class HandoverAccepted(Base):
    handover_id = fields.String()


class HandoverServiceStatus(Base):
    status = fields.String(metadata={"description": "pending or done"})
    moved = fields.Dict(keys=fields.String(), values=fields.Integer())


class HandoverOut(Base):
    handover_id = fields.String()
    from_user_id = fields.String()
    to_user_id = fields.String()
    status = fields.String(metadata={"description": "pending or done"})
    services = fields.Dict(keys=fields.String(), values=fields.Nested(HandoverServiceStatus))
    created_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)


class TimelineItem(Base):
    id = fields.String(metadata={"description": "the event id"})
    type = fields.String(metadata={"description": "the routing key"})
    time = fields.AwareDateTime()
    service = fields.String()
    subject = fields.String(allow_none=True)
    summary = fields.String()
    data = fields.Dict()


class TimelinePage(Base):
    items = fields.List(fields.Nested(TimelineItem), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class OpenAndWon(Base):
    open = fields.List(fields.Dict())
    won = fields.List(fields.Dict())


class RecentAndUpcoming(Base):
    recent = fields.List(fields.Dict())
    upcoming = fields.List(fields.Dict())


class OpenAndRecent(Base):
    open = fields.List(fields.Dict())
    recent = fields.List(fields.Dict())


class Customer360Out(Base):
    account = fields.Dict(allow_none=True)
    view = fields.Dict(allow_none=True)
    contacts = fields.List(fields.Dict())
    opportunities = fields.Nested(OpenAndWon)
    activities = fields.Nested(RecentAndUpcoming)
    cases = fields.Nested(OpenAndRecent)
    campaigns = fields.List(fields.Dict())
    partial = fields.Boolean()
    unavailable = fields.List(fields.String())


# -- the event history -----------------------------------------------------------

class TopicPattern(fields.String):
    """An AMQP topic pattern over routing keys: ``accounts.#``, ``*.opportunity.won``."""

    def __init__(self, **kwargs):
        metadata = {"description": "an AMQP topic pattern: '*' is one word, '#' any number of words",
                    "example": "accounts.#", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        from gateway.topics import pattern_problem

        pattern = super()._deserialize(value, attr, data, **kwargs)
        problem = pattern_problem(pattern)
        if problem:
            raise ValidationError(problem)
        return pattern


class CustomerEventFilters(ListArgs):
    since = fields.AwareDateTime(metadata={"description": "events at or after this time (RFC 3339 with a zone)"})


class EventFilters(CustomerEventFilters):
    type = TopicPattern()
    subject = fields.String(validate=validate.Length(min=1, max=200),
                            metadata={"description": "the aggregate id the event is about"})


class CloudEvent(Base):
    """A CloudEvent 1.0 exactly as it crossed the bus (structured JSON mode);
    extension attributes beyond these come along as they were."""

    specversion = fields.String(metadata={"example": "1.0"})
    id = fields.String()
    source = fields.String(metadata={"example": "/cadena/accounts"})
    type = fields.String(metadata={"description": "the routing key", "example": "accounts.account.created"})
    subject = fields.String(metadata={"description": "the aggregate id"})
    time = fields.String(metadata={"format": "date-time"})
    datacontenttype = fields.String(metadata={"example": "application/json"})
    correlationid = fields.String()
    dataversion = fields.String(metadata={"example": "1"})
    data = fields.Dict()

    @post_dump(pass_original=True)
    def _as_it_was(self, dumped, original, **_kwargs):
        return {**dumped, **original}


class EventPage(Base):
    items = fields.List(fields.Nested(CloudEvent), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
