"""Campaigns' events: their payload contracts."""
from __future__ import annotations

from marshmallow import fields

from shared.contracts import EventData, HandoverCompleted, Record, contracts, field_changes, ident, text


class Campaign(Record):
    name = fields.String()
    channel = fields.String()
    status = fields.String()
    owner_id = ident(required=False)
    segment = fields.Dict(allow_none=True)
    changes = field_changes()


class CampaignDeleted(EventData):
    id = ident()
    name = text()


class Launched(EventData):
    campaign_id = ident()
    member_count = fields.Integer(required=True)


class MembersBuilt(EventData):
    campaign_id = ident()
    added = fields.Integer(required=True)
    removed = fields.Integer(required=True)
    total = fields.Integer(required=True)


class MemberEvent(EventData):
    campaign_id = ident()
    contact_id = ident()
    account_id = ident(required=False)


CONTRACTS = [
    *contracts("A campaign was created or changed: the full campaign.", Campaign,
               "campaigns.campaign.created", "campaigns.campaign.updated"),
    *contracts("A campaign was deleted (soft).", CampaignDeleted, "campaigns.campaign.deleted"),
    *contracts("A campaign was launched.", Launched, "campaigns.campaign.launched"),
    *contracts("A campaign's members were built from its segment.", MembersBuilt,
               "campaigns.campaign.members_built"),
    *contracts("A member was sent the campaign, responded, converted or opted out.", MemberEvent,
               "campaigns.member.sent", "campaigns.member.responded", "campaigns.member.converted",
               "campaigns.member.opted_out"),
    *contracts("Campaigns finished its part of a handover.", HandoverCompleted, "campaigns.handover.completed"),
]
