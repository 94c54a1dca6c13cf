"""Accounts' CSV exports (CONTRACTS §9): the lists' filters, every row, streamed."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared.export import EXPORT_DOC, Columns, csv_response
from shared.schemas import ProblemSchema
from shared.web import current_db

from services.accounts import schemas, service
from services.accounts.models import Account, Contact

blp = Blueprint("accounts-export", __name__, url_prefix="/api/v1", description="Accounts and contacts as CSV")

ACCOUNT_COLUMNS = Columns(("id", "name", "industry", "segment", "country", "region", "city", "website", "tax_id",
                           "billing_address", "annual_revenue", "employees", "owner_id", "parent_account_id", "tags",
                           "notes", "created_at", "updated_at", "version"),
                          money=("annual_revenue",), address=("billing_address",))
CONTACT_COLUMNS = Columns(("id", *service.CONTACT_FIELDS, "created_at", "updated_at", "version"))
_NOT_FILTERS = ("limit", "cursor")


def contact_dict(contact) -> dict:
    return {name: getattr(contact, name) for name in CONTACT_COLUMNS.fields}


@blp.route("/accounts/export")
class AccountsExport(MethodView):
    @blp.arguments(schemas.AccountFilters(exclude=_NOT_FILTERS), location="query")
    @blp.doc(**EXPORT_DOC)
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Every account the list's filters match, as CSV (streamed)."""
        return csv_response(current_db(), service.account_query(args).order_by(Account.created_at, Account.id),
                            service.account_dict, ACCOUNT_COLUMNS,
                            "accounts.csv")


@blp.route("/contacts/export")
class ContactsExport(MethodView):
    @blp.arguments(schemas.ContactFilters(exclude=_NOT_FILTERS), location="query")
    @blp.doc(**EXPORT_DOC)
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Every contact the list's filters match, as CSV (streamed)."""
        return csv_response(current_db(), service.contact_query(args).order_by(Contact.created_at, Contact.id),
                            contact_dict, CONTACT_COLUMNS, "contacts.csv")
