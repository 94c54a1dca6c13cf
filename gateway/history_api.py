"""The event history's routes: the CloudEvents themselves, oldest first,
kept for good (CONTRACTS §10)."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared.auth import current_principal
from shared.schemas import ProblemSchema
from shared.web import read_session

from gateway import history, schemas, timeline

bp = Blueprint("events", __name__, url_prefix="/api/v1",
               description="The event history: every event Cadena published, as the CloudEvent it was, for good")


@bp.route("/events")
class Events(MethodView):
    @bp.arguments(schemas.EventFilters, location="query")
    @bp.response(200, schemas.EventPage)
    @bp.alt_response(422, schema=ProblemSchema)
    def get(self, args):
        """Every event, oldest first (by event time, then id), filtered by routing-key pattern (`type`, e.g.
        `accounts.#` or `*.opportunity.won`), `subject` (the aggregate id) and `since`. Admins and managers read
        every event; other roles the events that concern a customer (those the timeline shows)."""
        query = history.Query(type=args.get("type"), subject=args.get("subject"), since=args.get("since"),
                              customers_only=current_principal().role not in history.READ_ALL)
        items, cursor = history.page_of_events(read_session(), query, limit=args["limit"], cursor=args.get("cursor"))
        return {"items": items, "next_cursor": cursor}


@bp.route("/customers/<uuid:account_id>/events")
class CustomerEvents(MethodView):
    @bp.arguments(schemas.CustomerEventFilters, location="query")
    @bp.response(200, schemas.EventPage)
    @bp.alt_response(422, schema=ProblemSchema)
    def get(self, args, account_id):
        """Every event that concerns a customer (the account, its contacts, deals, activities, cases and campaign
        responses), oldest first: the timeline's events as CloudEvents. A customer's events include those of the
        accounts merged into it."""
        session = read_session()
        query = history.Query(account_ids=timeline.accounts_of(session, str(account_id)), since=args.get("since"))
        items, cursor = history.page_of_events(session, query, limit=args["limit"], cursor=args.get("cursor"))
        return {"items": items, "next_cursor": cursor}
