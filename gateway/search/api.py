"""GET /api/v1/search (CONTRACTS §9)."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint
from marshmallow import fields, validate

from shared.schemas import Base, ProblemSchema
from shared.web import current_db, read_session

from gateway import search as search_index
from gateway.search.documents import TYPES
from gateway.search.query import DEFAULT_LIMIT, MAX_LENGTH, MAX_LIMIT

blp = Blueprint("search", __name__, url_prefix="/api/v1",
                description="Search across accounts, contacts, deals, cases and activities")


class SearchArgs(Base):
    q = fields.String(required=True, validate=validate.Length(min=1, max=MAX_LENGTH), metadata={
        "description": "Words to find (each as a prefix, case and accents ignored), an e-mail, a phone number "
                       "however written, or a case number."})
    types = fields.String(metadata={
        "description": f"Comma-separated kinds of record to search, among {', '.join(TYPES)} (default: all)."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


class SearchHit(Base):
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    id = fields.String(required=True)
    title = fields.String(required=True)
    subtitle = fields.String(required=True, metadata={
        "description": "What tells it apart: its customer, and e.g. a contact's job and e-mail or a deal's stage."})


class SearchResults(Base):
    items = fields.List(fields.Nested(SearchHit), required=True)


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, SearchResults)
    @blp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Search every kind of record at once, best first (exact title, then titles starting with the text,
        then by relevance; a word typed wrong is matched to the closest known words). A change is searchable
        within seconds: the index is kept from the events."""
        items = search_index.search(current_db(), read_session(), args["q"], args.get("types"), args["limit"])
        return {"items": items}
