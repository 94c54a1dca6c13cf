"""The rep handover saga: the gateway asks, every service moves its own
records and reports; progress is kept per service."""
from __future__ import annotations

from sqlalchemy import select

from shared import config
from shared import history
from shared.auth import Principal
from shared.db import utcnow
from shared.http import Forbidden, Invalid, NotFound

from gateway.identity import get_user, revoke_tokens, user_event_data
from gateway.models import Handover, User

# The contexts that own records a user can hold.
SERVICES = tuple(config.SERVICE_PORTS)


def status_of(handover: Handover) -> dict:
    services = handover.services
    done = all(s["status"] == "done" for s in services.values())
    return {"handover_id": handover.id, "from_user_id": handover.from_user_id, "to_user_id": handover.to_user_id,
            "status": "done" if done else "pending", "services": services,
            "created_at": handover.created_at, "completed_at": handover.completed_at}


def request_handover(uow, actor: Principal, user_id, to_user_id) -> Handover:
    session = uow.session
    user = get_user(session, user_id)
    if not (actor.is_admin or (actor.role == "manager" and user.manager_id == actor.id)):
        raise Forbidden("Only an admin or the user's manager may hand over the user's work.")
    successor = session.get(User, str(to_user_id))
    if successor is None or not successor.active:
        raise Invalid("The successor must be an active user.", errors={"to_user_id": ["No active user with this id."]})
    if successor.id == user.id:
        raise Invalid("A user cannot hand over to themselves.", errors={"to_user_id": ["Choose another user."]})
    handover = Handover(from_user_id=user.id, to_user_id=successor.id, requested_by=actor.id,
                        services={s: {"status": "pending", "moved": {}} for s in SERVICES})
    session.add(handover)
    before = user_event_data(user)
    if user.active:
        user.active = False  # a rep who leaves can no longer log in, and their tokens stop working
        revoke_tokens(session, user, "handed-over")
    session.flush()
    history.updated(uow, "identity.user.updated", user.id, user_event_data(user), before=before)
    uow.publish("identity.user.handover_requested", handover.id,
                {"handover_id": handover.id, "from_user_id": user.id, "to_user_id": successor.id})
    return handover


def get_handover(session, handover_id) -> Handover:
    handover = session.get(Handover, str(handover_id))
    if handover is None:
        raise NotFound.of("handover", handover_id)
    return handover


def on_handover_completed(event: dict, uow) -> None:
    """<service>.handover.completed → that service's part is done."""
    data = event["data"]
    query = select(Handover).where(Handover.id == data["handover_id"])
    if uow.db.is_postgres:
        query = query.with_for_update()  # two gateway workers may report at once
    handover = uow.session.scalar(query)
    if handover is None:
        return  # not ours (another installation on the same broker)
    services = dict(handover.services)
    services[data["service"]] = {"status": "done", "moved": data.get("moved", {})}
    handover.services = services
    if all(s["status"] == "done" for s in services.values()) and handover.completed_at is None:
        handover.completed_at = utcnow()
