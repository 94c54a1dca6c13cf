"""The webhooks' routes (admin only; CONTRACTS §10, docs/webhooks.md)."""
from __future__ import annotations

from flask.views import MethodView
from shared.web import Blueprint

from shared.auth import current_principal
from shared.guard import allow
from shared.http import if_match
from shared.schemas import ProblemSchema, page_of
from shared.web import created, current_db, deps, read_session, with_version

from gateway import webhooks
from gateway import webhook_schemas as schemas

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1",
               description="Webhooks: events POSTed to outside endpoints, signed per Standard Webhooks (admin only)")


def _check(url: str) -> None:
    webhooks.check_url(deps().url_guard, url)


@bp.route("/webhooks")
class Webhooks(MethodView):
    @allow()
    @bp.arguments(schemas.WebhookFilters, location="query")
    @bp.response(200, page_of(schemas.WebhookOut))
    @bp.alt_response(403, schema=ProblemSchema)
    def get(self, args):
        """List webhooks, oldest first."""
        items, cursor = webhooks.list_webhooks(read_session(), args)
        return {"items": items, "next_cursor": cursor}

    @allow()
    @bp.arguments(schemas.WebhookIn)
    @bp.response(201, schemas.WebhookCreated)
    @bp.alt_response(403, schema=ProblemSchema)
    @bp.alt_response(422, schema=ProblemSchema)
    def post(self, data):
        """Create a webhook: every event matching one of `events` is POSTed to `url` as its CloudEvent, signed
        with the `secret` of this answer (shown only here). URLs whose host resolves to a loopback, private,
        link-local or otherwise non-public address are refused."""
        _check(data["url"])
        with current_db().transaction() as uow:
            hook, secret = webhooks.create_webhook(uow, current_principal(), data)
            body = webhooks.webhook_out(hook, secret)
        return created(body, f"/api/v1/webhooks/{hook.id}", hook.version)


@bp.route("/webhooks/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @allow()
    @bp.response(200, schemas.WebhookOut)
    @bp.alt_response(404, schema=ProblemSchema)
    def get(self, webhook_id):
        """Read a webhook (never its secret)."""
        hook = webhooks.get_webhook(read_session(), webhook_id)
        return with_version(webhooks.webhook_out(hook), hook.version)

    @allow()
    @bp.arguments(schemas.WebhookPatch)
    @bp.response(200, schemas.WebhookOut)
    @bp.alt_response(404, schema=ProblemSchema)
    @bp.alt_response(412, schema=ProblemSchema)
    @bp.alt_response(422, schema=ProblemSchema)
    def patch(self, changes, webhook_id):
        """Change a webhook's URL, events or description; `enabled: false` pauses it, `enabled: true` resumes
        it (also after it was disabled for failing)."""
        if "url" in changes:
            _check(changes["url"])
        with current_db().transaction() as uow:
            hook = webhooks.update_webhook(uow, webhook_id, changes, if_match())
            body = webhooks.webhook_out(hook)
        return with_version(body, hook.version)

    @allow()
    @bp.response(204)
    @bp.alt_response(404, schema=ProblemSchema)
    def delete(self, webhook_id):
        """Delete a webhook: nothing more is sent to it."""
        with current_db().transaction() as uow:
            webhooks.delete_webhook(uow, webhook_id)


@bp.route("/webhooks/<uuid:webhook_id>/deliveries")
class Deliveries(MethodView):
    @allow()
    @bp.arguments(schemas.AttemptFilters, location="query")
    @bp.response(200, page_of(schemas.AttemptOut))
    @bp.alt_response(404, schema=ProblemSchema)
    def get(self, args, webhook_id):
        """Every attempt to deliver to this webhook, newest first: when, which event, the status code or the
        error, how long it took, which attempt of its delivery it was, and when it is tried again."""
        items, cursor = webhooks.list_attempts(read_session(), webhook_id, args)
        return {"items": items, "next_cursor": cursor}


@bp.route("/webhooks/<uuid:webhook_id>/replay")
class Replay(MethodView):
    @allow()
    @bp.arguments(schemas.ReplayIn)
    @bp.response(202, schemas.ReplayAccepted)
    @bp.alt_response(404, schema=ProblemSchema)
    @bp.alt_response(409, schema=ProblemSchema)
    def post(self, data, webhook_id):
        """Send again every event of the history since `since` that the webhook's patterns match, oldest first
        (the same `webhook-id`, the event id, so receivers can tell a repeat)."""
        with current_db().transaction() as uow:
            return webhooks.replay(uow, webhook_id, data["since"]), 202


@bp.route("/webhooks/<uuid:webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    @allow()
    @bp.response(200, schemas.WebhookSecret)
    @bp.alt_response(404, schema=ProblemSchema)
    def post(self, webhook_id):
        """A new secret, shown only in this answer. For 24 hours deliveries carry two signatures, one by the old
        secret and one by the new, so the receiver can switch at its own pace."""
        with current_db().transaction() as uow:
            return webhooks.rotate_secret(uow, webhook_id)
