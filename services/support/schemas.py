"""Support's API and event shapes."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.http import ListArgs
from shared.schemas import MAX_BIGINT, Base, Resource, StrictBase

from services.support.rules import CHANNELS, MAX_SLA_SECONDS, PRIORITIES, STATUSES

_id = lambda **kw: fields.UUID(allow_none=True, **kw)  # noqa: E731


class CaseIn(StrictBase):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(allow_none=True, validate=validate.Length(max=100_000))
    account_id = _id()
    contact_id = _id()
    channel = fields.String(validate=validate.OneOf(CHANNELS), metadata={"description": "Default: web."})
    priority = fields.String(validate=validate.OneOf(PRIORITIES), metadata={"description": "Default: normal."})
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={
        "description": "On create: new (default) or open. Moves: new → open|pending|resolved|closed; "
                       "open → pending|resolved|closed; pending → open|resolved|closed; "
                       "resolved → open (reopen)|closed; closed is final. Another move → 409."})
    assignee_id = _id(metadata={"description": "A support or manager user; defaults to the creator when "
                                               "the creator is support or manager."})


class CaseSatisfactionOut(Base):
    case_id = fields.String()
    score = fields.Integer()
    comment = fields.String(allow_none=True)
    rated_at = fields.AwareDateTime()


class CaseOut(Resource):
    number = fields.Integer(metadata={"description": "Sequential human reference."})
    reference = fields.String(metadata={
        "description": "`[#<number>]`: put it in an e-mail subject to reply to the case."})
    subject = fields.String()
    description = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    contact_id = fields.String(allow_none=True)
    requester_email = fields.String(allow_none=True)
    requester_name = fields.String(allow_none=True)
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    status = fields.String(validate=validate.OneOf(STATUSES))
    assignee_id = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    first_response_due_at = fields.AwareDateTime()
    resolution_due_at = fields.AwareDateTime()
    first_responded_at = fields.AwareDateTime(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    first_response_breached_at = fields.AwareDateTime(allow_none=True)
    resolution_breached_at = fields.AwareDateTime(allow_none=True)
    sla_breached = fields.Boolean()
    satisfaction = fields.Nested(CaseSatisfactionOut, allow_none=True)
    deleted_at = fields.AwareDateTime(allow_none=True, dump_only=True)


class CaseFilters(ListArgs):
    status = fields.String(metadata={"description": "One status or several, comma-separated (e.g. new,open,pending)."})
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    assignee_id = fields.String()
    account_id = fields.String()
    contact_id = fields.String()
    number = fields.Integer(validate=validate.Range(min=1, max=MAX_BIGINT))
    sla_breached = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "Searches the subject."})

    @validates_schema
    def _statuses(self, data, **_):
        wanted = [s.strip() for s in (data.get("status") or "").split(",") if s.strip()]
        bad = [s for s in wanted if s not in STATUSES]
        if bad:
            raise ValidationError(f"Unknown status {', '.join(bad)}; one of {', '.join(STATUSES)}.", "status")


class CaseCommentIn(StrictBase):
    body = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    public = fields.Boolean(load_default=True, metadata={
        "description": "Seen by the customer (default). The first public comment by staff is the first response."})


class CaseCommentOut(Resource):
    case_id = fields.String()
    body = fields.String()
    public = fields.Boolean()
    author_type = fields.String(validate=validate.OneOf(("staff", "customer")))
    author_id = fields.String(allow_none=True)
    author_email = fields.String(allow_none=True)


class CaseCommentFilters(ListArgs):
    public = fields.Boolean()


class CaseSatisfactionIn(StrictBase):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(allow_none=True, validate=validate.Length(max=5000))


class InboundEmailOut(CaseOut):
    comment = fields.Nested(CaseCommentOut, allow_none=True, metadata={
        "description": "The comment a reply became; null when the e-mail opened a case."})


class SlaTarget(StrictBase):
    first_response_seconds = fields.Integer(required=True, strict=True,
                                            validate=validate.Range(min=1, max=MAX_SLA_SECONDS))
    resolution_seconds = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_SLA_SECONDS))

    @validates_schema
    def _order(self, data, **_):
        if data.get("first_response_seconds", 0) > data.get("resolution_seconds", MAX_SLA_SECONDS):
            raise ValidationError("The first response cannot be due after the resolution.", "first_response_seconds")


class SlaCalendarDoc(Base):
    timezone = fields.String(metadata={"example": "Europe/Madrid", "description": "An IANA time zone."})
    hours = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "example": {"mon": ["09:00", "18:00"], "fri": ["09:00", "15:00"]},
        "description": "Opening and closing time per day (mon … sun); a day left out is closed."})
    holidays_country = fields.String(allow_none=True, metadata={
        "example": "ES", "description": "Public holidays of this country (ISO 3166-1) are closed."})
    holidays_subdivision = fields.String(allow_none=True, metadata={"example": "MD"})


class SlaPolicyIn(StrictBase):
    urgent = fields.Nested(SlaTarget)
    high = fields.Nested(SlaTarget)
    normal = fields.Nested(SlaTarget)
    low = fields.Nested(SlaTarget)
    calendar = fields.Raw(allow_none=True, metadata={
        "type": "object", "properties": {"timezone": {"type": "string"}, "hours": {"type": "object"},
                                                   "holidays_country": {"type": ["string", "null"]},
                                                   "holidays_subdivision": {"type": ["string", "null"]}},
        "description": "Business hours the SLA clocks count (due times then skip nights, closed days and "
                       "public holidays); null: 24/7. Changing it recomputes open cases' due times."})

    @validates_schema
    def _some(self, data, **_):
        if not data:
            raise ValidationError("Give the targets of at least one priority (urgent, high, normal, low), "
                                  "or a calendar.")


class SlaTargetOut(Base):
    first_response_seconds = fields.Integer()
    resolution_seconds = fields.Integer()


class SlaPolicyOut(Base):
    urgent = fields.Nested(SlaTargetOut)
    high = fields.Nested(SlaTargetOut)
    normal = fields.Nested(SlaTargetOut)
    low = fields.Nested(SlaTargetOut)
    calendar = fields.Nested(SlaCalendarDoc, metadata={"description": "The business-hours calendar; absent: 24/7."})
