"""Campaigns' HTTP API: parse → use case → serialise."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared.auth import current_principal
from shared.guard import reads_only, writes
from shared.http import Invalid, etag, if_match
from shared.schemas import ProblemSchema, page_of
from shared.web import deps, current_settings, created, current_db, read_session, with_version

from services.campaigns import members, rules, schemas, service

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1",
                description="Marketing campaigns: segments, members, e-mail sending and ROI")


def _directory():
    return deps().directory


def _currency() -> str:
    return current_settings().base_currency


def _out(session, campaign) -> dict:
    return service.campaign_dict(campaign, service.stats(session, [campaign.id])[campaign.id])


@blp.route("/campaigns")
class Campaigns(MethodView):
    @blp.arguments(schemas.CampaignFilters, location="query")
    @blp.response(200, page_of(schemas.CampaignOut))
    def get(self, args):
        """List campaigns (filter by owner, status, channel, `account_id`/`contact_id` of a member; `q` searches names)."""
        session = read_session()
        rows, cursor = service.list_campaigns(session, args)
        numbers = service.stats(session, [c.id for c in rows])
        return {"items": [service.campaign_dict(c, numbers[c.id]) for c in rows], "next_cursor": cursor}

    @writes("campaign")
    @blp.arguments(schemas.CampaignIn)
    @blp.response(201, schemas.CampaignOut)
    @blp.alt_response(403, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """Create a campaign (draft). Marketing users and managers own campaigns."""
        with current_db().transaction() as uow:
            campaign = service.create_campaign(uow, current_principal(), data, _directory(), _currency())
        body = service.campaign_dict(campaign, (0, service.empty_progress()))
        return created(body, f"/api/v1/campaigns/{campaign.id}", campaign.version)


@blp.route("/campaigns/segment-count")
class SegmentCount(MethodView):
    @reads_only
    @blp.arguments(schemas.SegmentCountIn)
    @blp.response(200, schemas.SegmentCount)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """How many contacts a segment matches now, by the rules a member build uses (for a segment builder's
        live count). Changes nothing; a bare revenue bound is read in the default currency."""
        segment = rules.normalise_segment(data["segment"], _currency())
        problems = rules.segment_problems(segment)
        if problems:
            raise Invalid("The segment is inconsistent.", errors=problems)
        return {"count": len(members.matching(read_session(), segment))}


@blp.route("/campaigns/<uuid:campaign_id>")
class CampaignItem(MethodView):
    @blp.response(200, schemas.CampaignOut)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, campaign_id):
        """Read a campaign with its member count and sending `progress` (and its ETag)."""
        session = read_session()
        campaign = service.get_campaign(session, campaign_id)
        return with_version(_out(session, campaign), campaign.version)

    @writes("campaign")
    @blp.arguments(schemas.CampaignIn(partial=True))
    @blp.response(200, schemas.CampaignOut)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    def patch(self, changes, campaign_id):
        """Change a campaign (`segment` and `templates` are replaced whole); `status: completed` ends it.
        Send `If-Match` with its ETag to avoid overwriting someone else's change."""
        with current_db().transaction() as uow:
            campaign = service.update_campaign(uow, current_principal(), campaign_id, changes, if_match(),
                                               _directory(), _currency())
        return with_version(_out(read_session(), campaign), campaign.version)

    @writes("campaign")
    @blp.response(204)
    def delete(self, campaign_id):
        """Delete a campaign (soft: it leaves lists, unsent mail is not sent, `campaigns.campaign.deleted` is published)."""
        with current_db().transaction() as uow:
            service.delete_campaign(uow, current_principal(), campaign_id, if_match(), _directory())


@blp.route("/campaigns/<uuid:campaign_id>/members/build")
class CampaignMembersBuild(MethodView):
    @writes("campaign")
    @blp.response(200, schemas.CampaignBuild)
    @blp.alt_response(409, schema=ProblemSchema)
    def post(self, campaign_id):
        """Materialise the members the segment matches now (idempotent; see docs/campaigns.md for who stays)."""
        with current_db().transaction() as uow:
            return members.build_members(uow, current_principal(), campaign_id, _directory())


@blp.route("/campaigns/<uuid:campaign_id>/members")
class CampaignMembers(MethodView):
    @blp.arguments(schemas.CampaignMemberFilters, location="query")
    @blp.response(200, page_of(schemas.CampaignMember))
    def get(self, args, campaign_id):
        """List a campaign's members (keyset pagination; filter by status, delivery, account)."""
        rows, cursor = members.list_members(read_session(), campaign_id, args)
        return {"items": rows, "next_cursor": cursor}


@blp.route("/campaigns/<uuid:campaign_id>/members/<uuid:contact_id>")
class CampaignMemberItem(MethodView):
    @blp.response(200, schemas.CampaignMember)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, campaign_id, contact_id):
        """Read one member (with its ETag)."""
        member = members.get_member(read_session(), campaign_id, contact_id)
        return with_version(member, member.version)

    @writes("campaign")
    @blp.arguments(schemas.CampaignMemberPatch)
    @blp.response(200, schemas.CampaignMember)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    def patch(self, data, campaign_id, contact_id):
        """Record a response, a conversion or an opt-out (an opt-out holds for every campaign)."""
        with current_db().transaction() as uow:
            member = members.update_member(uow, current_principal(), campaign_id, contact_id, data["status"],
                                           if_match(), _directory())
        return with_version(member, member.version)


@blp.route("/campaigns/<uuid:campaign_id>/launch")
class CampaignLaunch(MethodView):
    @writes("campaign")
    @blp.response(202, schemas.CampaignOut)
    @blp.alt_response(200, schema=schemas.CampaignOut, description="A channel without sending: activated.")
    @blp.alt_response(409, schema=ProblemSchema, description="Already launched (nothing more is sent).")
    def post(self, campaign_id):
        """Launch a draft: it becomes active; for e-mail, the worker sends one message per member (202)."""
        with current_db().transaction() as uow:
            campaign, _ = service.launch_campaign(uow, current_principal(), campaign_id, if_match(), _directory())
        status = 202 if campaign.channel == "email" else 200
        return _out(read_session(), campaign), status, {"ETag": etag(campaign.version)}


@blp.route("/campaigns/<uuid:campaign_id>/roi")
class CampaignRoi(MethodView):
    @blp.response(200, schemas.CampaignRoi)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, campaign_id):
        """Return on investment from won deals the campaign influenced (docs/campaigns.md)."""
        return service.campaign_roi(read_session(), campaign_id, _currency())


from services.campaigns import unsubscribe  # noqa: E402  (the public one-click unsubscribe)

BLUEPRINTS = [blp, *unsubscribe.BLUEPRINTS]
