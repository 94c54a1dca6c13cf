"""GET /api/v1/contacts/duplicates and /api/v1/accounts/duplicates (CONTRACTS §9)."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint
from marshmallow import fields, validate

from shared.http import ListArgs
from shared.schemas import Base, ProblemSchema, page_of
from shared.web import read_session

from services.accounts import duplicates

blp = Blueprint("duplicates", __name__, url_prefix="/api/v1",
                description="Contacts and accounts that may be the same, with the rules that say so")

CONTACT_REASONS = ("same_email", "same_phone", "similar_name_same_account")
ACCOUNT_REASONS = ("same_tax_id", "same_website_domain", "similar_name")


class ContactDuplicate(Base):
    ids = fields.List(fields.String(), required=True, metadata={"description": "Two or more contact ids, sorted."})
    reasons = fields.List(fields.String(validate=validate.OneOf(CONTACT_REASONS)), required=True)


class AccountDuplicate(Base):
    ids = fields.List(fields.String(), required=True, metadata={"description": "Two or more account ids, sorted."})
    reasons = fields.List(fields.String(validate=validate.OneOf(ACCOUNT_REASONS)), required=True)


@blp.route("/contacts/duplicates")
class ContactDuplicates(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, page_of(ContactDuplicate))
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Live contacts that may be one person: `same_email` (the same mailbox: case, `+tags` and Gmail's dots
        ignored), `same_phone` (the same number however written), `similar_name_same_account` (names alike at one
        account). Contacts sharing one e-mail or phone come as one group."""
        items = duplicates.contact_duplicates(read_session())
        chosen, cursor = duplicates.page(items, args["limit"], args.get("cursor"))
        return {"items": chosen, "next_cursor": cursor}


@blp.route("/accounts/duplicates")
class AccountDuplicates(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, page_of(AccountDuplicate))
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Live accounts that may be one company: `same_tax_id`, `same_website_domain` (scheme, `www.`, path and
        case ignored), `similar_name` (names alike once accents, case and legal forms such as S.L., S.A., GmbH or
        Ltd are set aside)."""
        items = duplicates.account_duplicates(read_session())
        chosen, cursor = duplicates.page(items, args["limit"], args.get("cursor"))
        return {"items": chosen, "next_cursor": cursor}
