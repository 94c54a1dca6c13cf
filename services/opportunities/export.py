"""Opportunities' CSV export (CONTRACTS §9): the list's filters, every row, streamed.
Line items stay out of the CSV (one row per deal); the amount is the deal's."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint
from sqlalchemy.orm import noload

from shared.export import EXPORT_DOC, Columns, csv_response
from shared.schemas import ProblemSchema
from shared.web import current_db

from services.opportunities import schemas, service
from services.opportunities.models import Opportunity

blp = Blueprint("opportunities-export", __name__, url_prefix="/api/v1", description="Opportunities as CSV")

COLUMNS = Columns(("id", "name", "account_id", "primary_contact_id", "amount", "close_date", "stage", "probability",
                   "forecast_category", "owner_id", "description", "campaign_id", "closed_at", "close_reason",
                   "created_at", "updated_at", "version"), money=("amount",))


def opportunity_row(opp: Opportunity) -> dict:
    data = {name: getattr(opp, name) for name in COLUMNS.fields if name != "amount"}
    data["amount"] = {"amount": opp.amount, "currency": opp.currency}
    return data


@blp.route("/opportunities/export")
class OpportunitiesExport(MethodView):
    @blp.arguments(schemas.OpportunityFilters(exclude=("limit", "cursor")), location="query")
    @blp.doc(**EXPORT_DOC)
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Every deal the list's filters match, as CSV (streamed; line items are not included)."""
        stmt = (service.opportunity_query(args).options(noload(Opportunity.line_items))
                .order_by(Opportunity.created_at, Opportunity.id))
        return csv_response(current_db(), stmt, opportunity_row, COLUMNS, "opportunities.csv")
