"""Activities' CSV export (CONTRACTS §9): the list's filters, every row, streamed."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared.export import EXPORT_DOC, Columns, csv_response
from shared.schemas import ProblemSchema
from shared.web import current_db

from services.activities import schemas, service

blp = Blueprint("activities-export", __name__, url_prefix="/api/v1", description="Activities as CSV")

COLUMNS = Columns(("id", *service.FIELDS, "completed_at", "reminder_sent_at", "created_at", "updated_at", "version"))


def activity_row(activity) -> dict:
    return {name: getattr(activity, name) for name in COLUMNS.fields}


@blp.route("/activities/export")
class ActivitiesExport(MethodView):
    @blp.arguments(schemas.ActivityFilters(exclude=("limit", "cursor")), location="query")
    @blp.doc(**EXPORT_DOC)
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Every activity the list's filters match, as CSV (streamed, in the list's order)."""
        stmt = service.activity_query(args).order_by(*service.activity_order(args))
        return csv_response(current_db(), stmt, activity_row, COLUMNS, "activities.csv")
