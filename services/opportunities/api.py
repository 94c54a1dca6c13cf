"""Opportunities' HTTP API: parse → use case → serialise."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared import history
from shared.auth import current_principal
from shared.guard import allow, writes
from shared.db import utcnow
from shared.http import ListArgs, if_match
from shared.schemas import HistoryEntry, ProblemSchema, page_of
from shared.web import deps, current_settings, created, current_db, read_session, with_version
from shared import imports_api

from services.opportunities import export, forecasting, imports, quotas, rules, schemas, service
from services.opportunities.deps import OpportunitiesDeps
from services.opportunities.models import Opportunity

blp = Blueprint("opportunities", __name__, url_prefix="/api/v1",
                description="Opportunities (deals), the pipeline, quotas and the forecast")


def _deps() -> service.Deps:
    dependencies: OpportunitiesDeps = deps()
    return dependencies.use_cases


def _currencies(args: dict) -> dict:
    """One currency unconverted (`?currency=`), else every deal in the base currency."""
    return {"currency": args.get("currency"), "base": current_settings().base_currency}


@blp.route("/opportunities")
class Opportunities(MethodView):
    @blp.arguments(schemas.OpportunityFilters, location="query")
    @blp.response(200, page_of(schemas.OpportunityOut))
    def get(self, args):
        """List deals (keyset pagination; filter by field, `status` open|won|lost, `q` searches the name)."""
        rows, cursor = service.list_opportunities(read_session(), args)
        return {"items": [service.opportunity_dict(o) for o in rows], "next_cursor": cursor}

    @writes("opportunity")
    @blp.arguments(schemas.OpportunityIn)
    @blp.response(201, schemas.OpportunityOut)
    @blp.alt_response(403, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """Create a deal (open stages only; `amount` is derived from `line_items` when omitted)."""
        with current_db().transaction() as uow:
            opp = service.create_opportunity(uow, current_principal(), data, _deps())
        return created(service.opportunity_dict(opp), f"/api/v1/opportunities/{opp.id}", opp.version)


@blp.route("/opportunities/<uuid:opportunity_id>")
class OpportunityItem(MethodView):
    @blp.response(200, schemas.OpportunityOut)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, opportunity_id):
        """Read a deal (with its ETag)."""
        opp = service.get_opportunity(read_session(), opportunity_id)
        return with_version(service.opportunity_dict(opp), opp.version)

    @writes("opportunity")
    @blp.arguments(schemas.OpportunityIn(partial=True))
    @blp.response(200, schemas.OpportunityOut)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    def patch(self, changes, opportunity_id):
        """Change a deal; moving between open stages publishes `stage_changed`. Closing is POST …/win or …/lose
        (a PATCH to a closed stage → 409)."""
        with current_db().transaction() as uow:
            opp = service.update_opportunity(uow, current_principal(), opportunity_id, changes, if_match(), _deps())
        return with_version(service.opportunity_dict(opp), opp.version)

    @writes("opportunity")
    @blp.response(204)
    @blp.alt_response(409, schema=ProblemSchema)
    def delete(self, opportunity_id):
        """Delete a deal (soft; won deals are final → 409)."""
        with current_db().transaction() as uow:
            service.delete_opportunity(uow, current_principal(), opportunity_id, if_match(), _deps())


@blp.route("/opportunities/<uuid:opportunity_id>/history")
class OpportunityHistory(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, page_of(HistoryEntry))
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, args, opportunity_id):
        """The deal's field history, newest first: who changed which fields, from what to what."""
        return history.of_record(read_session(), Opportunity, "opportunity", opportunity_id, args)


def _close(outcome: str, data: dict, opportunity_id):
    with current_db().transaction() as uow:
        opp = service.close_opportunity(uow, current_principal(), opportunity_id, outcome, data, if_match(), _deps())
    return with_version(service.opportunity_dict(opp), opp.version)


@blp.route("/opportunities/<uuid:opportunity_id>/win")
class Win(MethodView):
    @writes("opportunity")
    @blp.arguments(schemas.OpportunityCloseIn)
    @blp.response(200, schemas.OpportunityOut)
    @blp.alt_response(409, schema=ProblemSchema)
    def post(self, data, opportunity_id):
        """Win a deal: publishes `opportunities.opportunity.won` (the won-deal contract) once; a closed deal → 409."""
        return _close("won", data, opportunity_id)


@blp.route("/opportunities/<uuid:opportunity_id>/lose")
class Lose(MethodView):
    @writes("opportunity")
    @blp.arguments(schemas.OpportunityCloseIn)
    @blp.response(200, schemas.OpportunityOut)
    @blp.alt_response(409, schema=ProblemSchema)
    def post(self, data, opportunity_id):
        """Lose a deal: publishes `opportunities.opportunity.lost` once; a closed deal → 409."""
        return _close("lost", data, opportunity_id)


@blp.route("/pipeline/stages")
class Stages(MethodView):
    @blp.response(200, schemas.PipelineStageList)
    def get(self):
        """The stages in order, with their default probability and forecast category."""
        return {"items": [{"stage": s.name, "name": s.name, "probability": s.probability,
                           "forecast_category": s.forecast_category, "is_open": s.is_open, "order": i}
                          for i, s in enumerate(rules.STAGES, start=1)],
                "next_cursor": None}


@blp.route("/pipeline")
class PipelineView(MethodView):
    @blp.arguments(schemas.ScopeArgs, location="query")
    @blp.response(200, schemas.Pipeline)
    @blp.alt_response(409, schema=ProblemSchema)
    def get(self, args):
        """Open deals by stage with count, amount and weighted amount (amount × probability / 100): in the base
        currency, converted at the current rates (a missing rate → 409 naming the currency), or, with
        `currency`, only the deals in that currency, unconverted."""
        return forecasting.pipeline(read_session(), owner_id=args.get("owner_id"), team=args.get("team"),
                                    **_currencies(args))


@blp.route("/forecast")
class ForecastView(MethodView):
    @blp.arguments(schemas.ForecastArgs, location="query")
    @blp.response(200, schemas.Forecast)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Quota against closed_won, commit, best_case and pipeline for deals closing in the period."""
        period = args.get("period") or rules.quarter_of(utcnow().date())
        return forecasting.forecast(read_session(), period=period, owner_id=args.get("owner_id"),
                                    team=args.get("team"), **_currencies(args))


@blp.route("/quotas")
class Quotas(MethodView):
    @blp.arguments(schemas.QuotaFilters, location="query")
    @blp.response(200, page_of(schemas.QuotaOut))
    def get(self, args):
        """List quotas (filter by `user_id`, `period`)."""
        rows, cursor = quotas.list_quotas(read_session(), args)
        return {"items": [quotas.quota_dict(q) for q in rows], "next_cursor": cursor}


@blp.route("/quotas/<uuid:user_id>/<string:period>")
class QuotaItem(MethodView):
    @blp.response(200, schemas.QuotaOut)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, user_id, period):
        """A user's quota for a period (2026-Q4 or 2026-11)."""
        quota = quotas.get_quota(read_session(), user_id, period)
        return with_version(quotas.quota_dict(quota), quota.version)

    @allow("manager")
    @blp.arguments(schemas.QuotaIn)
    @blp.response(200, schemas.QuotaOut)
    @blp.alt_response(201, schema=schemas.QuotaOut)
    @blp.alt_response(403, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def put(self, data, user_id, period):
        """Set a user's quota for a period (admin or the user's manager): 201 when new, 200 when replaced."""
        with current_db().transaction() as uow:
            quota, new = quotas.put_quota(uow, current_principal(), user_id, period, data, if_match(), _deps())
        if new:
            return created(quotas.quota_dict(quota), f"/api/v1/quotas/{quota.user_id}/{quota.period}", quota.version)
        return with_version(quotas.quota_dict(quota), quota.version)


from services.opportunities import catalogue_api  # noqa: E402  (products, rates, installed base)

BLUEPRINTS = [blp, *catalogue_api.BLUEPRINTS, export.blp, imports_api.blueprint(imports.REGISTRY)]
