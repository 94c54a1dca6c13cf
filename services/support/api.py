"""Support's HTTP API: parse → use case → serialise."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from shared.web import Blueprint

from shared import history
from shared.auth import current_principal
from shared.guard import allow, writes
from shared.http import ListArgs, NotFound, Problem, if_match
from shared.schemas import HistoryEntry, ProblemSchema, page_of
from shared.web import deps, created, current_db, read_session, with_version

from services.support import export, inbound, schemas, service, sla_policy
from services.support.deps import SupportDeps
from services.support.models import Case

blp = Blueprint("support", __name__, url_prefix="/api/v1",
                description="Support cases, comments, SLA policy, satisfaction and inbound e-mail")

RFC822 = "message/rfc822"


def _deps() -> SupportDeps:
    return deps()


def _directory():
    return _deps().directory


def _accounts():
    return _deps().accounts


@blp.route("/cases")
class Cases(MethodView):
    @blp.arguments(schemas.CaseFilters, location="query")
    @blp.response(200, page_of(schemas.CaseOut))
    def get(self, args):
        """List cases (keyset pagination; filter by field, `status` takes a comma-separated list,
        `q` searches subjects)."""
        rows, cursor = service.list_cases(read_session(), args)
        return {"items": rows, "next_cursor": cursor}

    @writes("case", "assignee_id")
    @blp.arguments(schemas.CaseIn)
    @blp.response(201, schemas.CaseOut)
    @blp.alt_response(403, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """Open a case (support and managers; it is theirs unless `assignee_id` says otherwise). SLA due times
        come from the policy of its priority; `support.case.opened` is published."""
        with current_db().transaction() as uow:
            case = service.create_case(uow, current_principal(), data, _directory(), _accounts())
        return created(case, f"/api/v1/cases/{case.id}", case.version)


@blp.route("/cases/inbound-email")
class InboundEmail(MethodView):
    @blp.doc(requestBody={"required": True, "description": "The raw RFC 5322 message.",
                          "content": {RFC822: {"schema": {"type": "string", "format": "binary"}}}})
    @blp.response(201, schemas.InboundEmailOut)
    @blp.alt_response(200, schema=schemas.InboundEmailOut, description="The same Message-ID was received before.")
    @blp.alt_response(400, schema=ProblemSchema)
    @blp.alt_response(415, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def post(self):
        """Receive an e-mail (`Content-Type: message/rfc822`): the sender is matched to a contact by address; a
        reply whose subject carries `[#<case number>]` becomes a public comment on that case, any other message
        opens a case on the e-mail channel."""
        if request.mimetype != RFC822:
            raise Problem(f"Send the raw message with Content-Type: {RFC822}.", status=415,
                          title="Unsupported media type", slug="unsupported-media-type")
        raw = request.get_data(cache=False)
        if not raw.strip():
            raise Problem("The body is empty; send the raw RFC 5322 message.", status=400)
        with current_db().transaction() as uow:
            case, comment, fresh = inbound.receive_email(uow, current_principal(), raw, _accounts())
        location = f"/api/v1/cases/{case.id}" if comment is None else f"/api/v1/cases/{case.id}/comments"
        return _Received(case, comment), 201 if fresh else 200, {"Location": location, "ETag": f'"{case.version}"'}


class _Received:
    """The case an e-mail went to, plus the comment it became (if a reply)."""

    def __init__(self, case, comment):
        self._case = case
        self.comment = comment

    def __getattr__(self, name):
        return getattr(self._case, name)


@blp.route("/cases/<uuid:case_id>")
class CaseItem(MethodView):
    @blp.response(200, schemas.CaseOut)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, case_id):
        """Read a case (with its ETag)."""
        case = service.get_case(read_session(), case_id)
        return with_version(case, case.version)

    @writes("case", "assignee_id")
    @blp.arguments(schemas.CaseIn(partial=True))
    @blp.response(200, schemas.CaseOut)
    @blp.alt_response(409, schema=ProblemSchema, description="A status move the workflow does not allow.")
    @blp.alt_response(412, schema=ProblemSchema)
    def patch(self, changes, case_id):
        """Change a case; a status move outside the workflow → 409 and nothing changes. `If-Match` guards
        against lost updates. Resolving publishes `support.case.resolved`, closing `support.case.closed`,
        anything else `support.case.updated`."""
        with current_db().transaction() as uow:
            case = service.update_case(uow, current_principal(), case_id, changes, if_match(), _directory(),
                                       _accounts())
        return with_version(case, case.version)

    @writes("case", "assignee_id")
    @blp.response(204)
    def delete(self, case_id):
        """Delete a case (soft: it leaves lists, and `support.case.deleted` is published)."""
        with current_db().transaction() as uow:
            service.delete_case(uow, current_principal(), case_id, if_match(), _directory())


@blp.route("/cases/<uuid:case_id>/history")
class CaseHistory(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, page_of(HistoryEntry))
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, args, case_id):
        """The case's field history, newest first: who changed which fields, from what to what."""
        return history.of_record(read_session(), Case, "case", case_id, args)


@blp.route("/cases/<uuid:case_id>/comments")
class CaseComments(MethodView):
    @blp.arguments(schemas.CaseCommentFilters, location="query")
    @blp.response(200, page_of(schemas.CaseCommentOut))
    def get(self, args, case_id):
        """A case's comments, oldest first (`public=true|false` filters)."""
        rows, cursor = service.list_comments(read_session(), case_id, args)
        return {"items": rows, "next_cursor": cursor}

    @blp.arguments(schemas.CaseCommentIn)
    @blp.response(201, schemas.CaseCommentOut)
    @blp.alt_response(409, schema=ProblemSchema)
    def post(self, data, case_id):
        """Comment on a case. The first public comment by staff is the first response: it sets
        `first_responded_at` and stops that SLA clock (and a `new` case becomes `open`)."""
        with current_db().transaction() as uow:
            case, comment = service.add_comment(uow, current_principal(), case_id, data)
        return created(comment, f"/api/v1/cases/{case.id}/comments", comment.version)


@blp.route("/cases/<uuid:case_id>/satisfaction")
class CaseSatisfaction(MethodView):
    @blp.response(200, schemas.CaseSatisfactionOut)
    @blp.alt_response(404, schema=ProblemSchema)
    def get(self, case_id):
        """The case's satisfaction rating (404 until it is rated)."""
        case = service.get_case(read_session(), case_id)
        if case.satisfaction is None:
            raise NotFound(f"Case {case.id} has not been rated.")
        return case.satisfaction

    @blp.arguments(schemas.CaseSatisfactionIn)
    @blp.response(201, schemas.CaseSatisfactionOut)
    @blp.alt_response(409, schema=ProblemSchema, description="Not resolved yet, or rated already.")
    def post(self, data, case_id):
        """Rate a resolved (or closed) case, once: publishes `support.case.satisfaction_rated`."""
        with current_db().transaction() as uow:
            case = service.rate_case(uow, current_principal(), case_id, data)
        return created(case.satisfaction, f"/api/v1/cases/{case.id}/satisfaction")


@blp.route("/sla-policy")
class SlaPolicyItem(MethodView):
    @blp.response(200, schemas.SlaPolicyOut)
    def get(self):
        """The SLA targets per priority, in seconds (business seconds when there is a calendar), and the
        business-hours calendar (absent: 24/7)."""
        return sla_policy.policy_out(read_session())

    @allow("manager")
    @blp.arguments(schemas.SlaPolicyIn)
    @blp.response(200, schemas.SlaPolicyOut)
    @blp.alt_response(403, schema=ProblemSchema)
    @blp.alt_response(422, schema=ProblemSchema)
    def put(self, data):
        """Set the targets of one or more priorities (admin or manager), and/or the business-hours `calendar`.
        Targets apply to new cases and to priority changes; a changed calendar also recomputes the due times
        of open cases whose clock still runs."""
        with current_db().transaction() as uow:
            return sla_policy.put_policy(uow, current_principal(), data)


BLUEPRINTS = [blp, export.blp]
