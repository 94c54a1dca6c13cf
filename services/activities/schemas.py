"""Activities' API and event shapes."""
from __future__ import annotations

import math
from datetime import datetime, timezone

from marshmallow import ValidationError, fields, validate

from shared.http import ListArgs
from shared.schemas import Base, Resource, StrictBase

from services.activities.rules import STATUSES, TYPES

EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)


def plausible_time(value: datetime) -> None:
    """Keeps times where calendars (and date arithmetic) work."""
    if not EARLIEST <= value < LATEST:
        raise ValidationError("Must be a time between the years 1900 and 2999.")


_id = lambda **kw: fields.UUID(allow_none=True, **kw)  # noqa: E731
# Naive times are refused (AwareDateTime without a default zone).
_time = lambda **kw: fields.AwareDateTime(allow_none=True, validate=plausible_time, **kw)  # noqa: E731

_SCALARS = (str, int, float, bool, type(None))


def _plain(value) -> bool:
    if isinstance(value, str):
        return len(value) <= 2000
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, _SCALARS)


class Agreements(fields.Field):
    """What was agreed: a text, or a list of agreed items (each a text or a
    flat object such as ``{"text", "owner", "due"}``). Returned as given."""

    def __init__(self, **kwargs):
        super().__init__(metadata={
            "description": "A text, or a list of agreed items (texts or flat objects); returned as given.",
            "oneOf": [
                {"type": "string", "maxLength": 20000},
                {"type": "array", "maxItems": 100, "items": {"oneOf": [
                    {"type": "string", "minLength": 1, "maxLength": 2000},
                    {"type": "object", "maxProperties": 20, "additionalProperties": {"oneOf": [
                        {"type": "string", "maxLength": 2000}, {"type": "number"}, {"type": "boolean"},
                        {"type": "null"}]}},
                ]}},
                {"type": "null"},
            ],
        }, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if len(value) > 20_000:
                raise ValidationError("At most 20000 characters.")
            return value
        if not isinstance(value, list):
            raise ValidationError("Give a text or a list of agreed items.")
        if len(value) > 100:
            raise ValidationError("At most 100 agreed items.")
        for item in value:
            if isinstance(item, str):
                if not item or len(item) > 2000:
                    raise ValidationError("Each agreed item has 1 to 2000 characters.")
            elif isinstance(item, dict):
                if len(item) > 20 or not all(_plain(v) for v in item.values()):
                    raise ValidationError("An agreed item object holds at most 20 plain fields (texts, numbers).")
            else:
                raise ValidationError("Each agreed item is a text or an object.")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class ActivityIn(StrictBase):
    type = fields.String(required=True, validate=validate.OneOf(TYPES), metadata={"example": "meeting"})
    subject = fields.String(validate=validate.Length(min=1, max=300),
                            metadata={"description": "Defaults to the type's name (e.g. 'Call')."})
    starts_at = _time(metadata={"description": "Needed by meetings and visits (calls: starts_at or due_at)."})
    ends_at = _time(metadata={"description": "After starts_at."})
    due_at = _time(metadata={"description": "Needed by tasks."})
    remind_at = _time(metadata={"description": "When to publish activities.activity.reminder_due; changing it re-arms the reminder."})
    location = fields.String(allow_none=True, validate=validate.Length(max=300))
    account_id = _id()
    contact_id = _id()
    opportunity_id = _id()
    case_id = _id()
    owner_id = fields.UUID(metadata={"description": "Defaults to the caller."})
    status = fields.String(validate=validate.OneOf(STATUSES),
                           metadata={"description": "New activities are planned; PATCH to done completes it."})
    outcome = fields.String(allow_none=True, validate=validate.Length(max=2000))
    notes = fields.String(allow_none=True, validate=validate.Length(max=20_000),
                          metadata={"description": "The agenda beforehand, the minutes afterwards."})
    agreements = Agreements(allow_none=True)


class ActivityOut(Resource, ActivityIn):
    type = fields.String()
    subject = fields.String()
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    opportunity_id = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)
    owner_id = fields.String()
    status = fields.String()
    completed_at = fields.AwareDateTime(allow_none=True)
    reminder_sent_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "Planned and past its due_at."})


class CompleteIn(StrictBase):
    outcome = fields.String(allow_none=True, validate=validate.Length(max=2000))
    notes = fields.String(allow_none=True, validate=validate.Length(max=20_000))
    agreements = Agreements(allow_none=True)


SORTS = ("created_at", "time", "-time")


class ActivityFilters(ListArgs):
    owner_id = fields.String()
    type = fields.String(validate=validate.OneOf(TYPES))
    status = fields.String(validate=validate.OneOf(STATUSES))
    account_id = fields.String()
    contact_id = fields.String()
    opportunity_id = fields.String()
    case_id = fields.String()
    from_ = fields.AwareDateTime(data_key="from", validate=plausible_time,
                                 metadata={"description": "Happening at or after (starts_at, else due_at)."})
    to = fields.AwareDateTime(validate=plausible_time, metadata={"description": "Happening before."})
    overdue = fields.Boolean()
    sort = fields.String(load_default="created_at", validate=validate.OneOf(SORTS),
                         metadata={"description": "created_at (default), time (soonest first) or -time (latest first)."})


class AgendaArgs(ListArgs):
    owner_id = fields.UUID(metadata={"description": "Whose agenda; defaults to the caller."})
    from_ = fields.AwareDateTime(data_key="from", validate=plausible_time,
                                 metadata={"description": "Default: today 00:00 UTC."})
    to = fields.AwareDateTime(validate=plausible_time, metadata={"description": "Default: 7 days after from."})
    status = fields.String(validate=validate.OneOf(STATUSES))


class AgendaOut(Base):
    owner_id = fields.String()
    from_ = fields.AwareDateTime(data_key="from")
    to = fields.AwareDateTime()
    items = fields.List(fields.Nested(ActivityOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class FeedArgs(Base):
    token = fields.String(metadata={"description": "The user's feed token."})


class CalendarTokenOut(Base):
    token = fields.String()
    url = fields.String(metadata={"description": "The feed's address, for a calendar app to subscribe to."})
