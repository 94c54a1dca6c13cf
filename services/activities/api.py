"""Activities' HTTP API: parse → use case → serialise."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from shared.web import Blueprint

from shared.auth import current_principal, public
from shared.guard import allow, writes
from shared.http import if_match
from shared.schemas import ProblemSchema, page_of
from shared.web import deps, created, current_db, read_session, with_version

from services.activities import export, schemas, service
from services.activities.deps import ActivitiesDeps

def _deps() -> ActivitiesDeps:
    return deps()


blp = Blueprint("activities", __name__, url_prefix="/api/v1",
                description="Calls, meetings, visits, e-mails and tasks; the agenda and calendar feeds")


def _directory():
    return _deps().directory


def _links():
    return _deps().links


def _out(activity):
    return service.activity_dict(activity)


@blp.route("/activities")
class Activities(MethodView):
    @blp.arguments(schemas.ActivityFilters, location="query")
    @blp.response(200, page_of(schemas.ActivityOut))
    def get(self, args):
        """List activities (filter by field; `from`/`to` bound their time; `sort=time|-time` orders by it)."""
        rows, cursor = service.list_activities(read_session(), args)
        return {"items": [_out(a) for a in rows], "next_cursor": cursor}

    @writes("activity")
    @blp.arguments(schemas.ActivityIn)
    @blp.response(201, schemas.ActivityOut)
    @blp.alt_response(403, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """Create an activity (planned). Unknown or unverifiable links → 422."""
        with current_db().transaction() as uow:
            activity = service.create_activity(uow, current_principal(), data, _directory(), _links())
        return created(_out(activity), f"/api/v1/activities/{activity.id}", activity.version)


@blp.route("/activities/<uuid:activity_id>")
class ActivityItem(MethodView):
    @blp.response(200, schemas.ActivityOut)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, activity_id):
        """Read an activity (with its ETag)."""
        activity = service.get_activity(read_session(), activity_id)
        return with_version(_out(activity), activity.version)

    @writes("activity")
    @blp.arguments(schemas.ActivityIn(partial=True))
    @blp.response(200, schemas.ActivityOut)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def patch(self, changes, activity_id):
        """Change an activity; `status: done` completes it (like POST …/complete), `cancelled` cancels it."""
        with current_db().transaction() as uow:
            activity = service.update_activity(uow, current_principal(), activity_id, changes, if_match(),
                                               _directory(), _links())
        return with_version(_out(activity), activity.version)

    @writes("activity")
    @blp.response(204)
    @blp.alt_response(404, schema=ProblemSchema)
    def delete(self, activity_id):
        """Delete an activity (soft: it leaves lists, and `activities.activity.deleted` is published)."""
        with current_db().transaction() as uow:
            service.delete_activity(uow, current_principal(), activity_id, if_match(), _directory())


@blp.route("/activities/<uuid:activity_id>/complete")
class ActivityComplete(MethodView):
    @writes("activity")
    @blp.arguments(schemas.CompleteIn)
    @blp.response(200, schemas.ActivityOut)
    @blp.alt_response(409, schema=ProblemSchema)
    @blp.alt_response(412, schema=ProblemSchema)
    def post(self, data, activity_id):
        """Complete a planned activity with its outcome, minutes (`notes`) and agreements;
        publishes `activities.activity.completed`. Completing it again → 409."""
        with current_db().transaction() as uow:
            activity = service.complete_activity(uow, current_principal(), activity_id, data, if_match(),
                                                 _directory())
        return with_version(_out(activity), activity.version)


@blp.route("/agenda")
class Agenda(MethodView):
    @blp.arguments(schemas.AgendaArgs, location="query")
    @blp.response(200, schemas.AgendaOut)
    def get(self, args):
        """A user's activities in a window [from, to), by time (starts_at, else due_at); open tasks past due
        carry `overdue: true`."""
        return service.agenda(read_session(), args, current_principal())


@blp.route("/users/<uuid:user_id>/calendar-token")
class CalendarToken(MethodView):
    @allow(self_param="user_id")
    @blp.response(200, schemas.CalendarTokenOut)
    @blp.alt_response(403, schema=ProblemSchema)
    def get(self, user_id):
        """The user's calendar feed token and URL (the user or an admin)."""
        return _token(user_id, rotate=False)

    @allow(self_param="user_id")
    @blp.response(200, schemas.CalendarTokenOut)
    @blp.alt_response(403, schema=ProblemSchema)
    def post(self, user_id):
        """Rotate the user's calendar feed token: the old one stops working at once."""
        return _token(user_id, rotate=True)


def _token(user_id, rotate: bool) -> dict:
    with current_db().transaction() as uow:
        token = service.calendar_token(uow, current_principal(), user_id, _directory(), rotate=rotate)
    base = _deps().public_url
    return {"token": token, "url": f"{base}/api/v1/users/{user_id}/calendar.ics?token={token}"}


@blp.route("/users/<uuid:user_id>/calendar.ics", methods=["GET"])
@public
@blp.doc(security=[], responses={"200": {"description": "An RFC 5545 calendar of the user's planned activities.",
                                         "content": {"text/calendar": {"schema": {"type": "string"}}}}})
@blp.alt_response(404, schema=ProblemSchema)
@blp.arguments(schemas.FeedArgs, location="query")
def calendar_feed(args, user_id):
    """The user's planned activities as an iCalendar feed. No bearer token: the feed token
    (`?token=`) is the credential; a wrong one → 404."""
    body = service.calendar_feed(read_session(), current_db().tables.users, user_id, args.get("token"))
    return Response(body, status=200, mimetype="text/calendar",
                    headers={"Content-Type": "text/calendar; charset=utf-8",
                             "Content-Disposition": 'inline; filename="cadena.ics"',
                             "Cache-Control": "private, max-age=300"})


BLUEPRINTS = [blp, export.blp]
