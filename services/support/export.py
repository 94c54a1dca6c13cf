"""Support's CSV export (CONTRACTS §9): the case list's filters, every row, streamed."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared.export import EXPORT_DOC, Columns, csv_response
from shared.schemas import ProblemSchema
from shared.web import current_db

from services.support import schemas, service
from services.support.models import Case

blp = Blueprint("support-export", __name__, url_prefix="/api/v1", description="Cases as CSV")

COLUMNS = Columns(("id", "number", "subject", "description", "account_id", "contact_id", "requester_email",
                   "requester_name", "channel", "priority", "status", "assignee_id", "created_by",
                   "first_response_due_at", "resolution_due_at", "first_responded_at", "resolved_at", "closed_at",
                   "first_response_breached_at", "resolution_breached_at", "satisfaction_score", "created_at",
                   "updated_at", "version"))


def case_row(case: Case) -> dict:
    return {name: getattr(case, name) for name in COLUMNS.fields}


@blp.route("/cases/export")
class CasesExport(MethodView):
    @blp.arguments(schemas.CaseFilters(exclude=("limit", "cursor")), location="query")
    @blp.doc(**EXPORT_DOC)
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Every case the list's filters match, as CSV (streamed)."""
        stmt = service.case_query(args).order_by(Case.created_at, Case.id)
        return csv_response(current_db(), stmt, case_row, COLUMNS, "cases.csv")
