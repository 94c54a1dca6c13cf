"""The service side of a rep handover (CONTRACTS §3): on
identity.user.handover_requested, move the open records the user owns to the
successor and report `<service>.handover.completed` once."""
from __future__ import annotations

from typing import Callable

Reassign = Callable[[object, str, str], dict[str, int]]


def handover_handler(service: str, reassign: Reassign):
    """Build a service's handler from its reassign(uow, from_user_id, to_user_id) → {resource: count}.

    The inbox runs it once per request; reassigning is itself idempotent, so a
    second request for the same user moves nothing and reports zeros."""

    def on_handover_requested(event: dict, uow) -> None:
        data = event["data"]
        moved = reassign(uow, data["from_user_id"], data["to_user_id"])
        uow.publish(f"{service}.handover.completed", data["handover_id"],
                    {"handover_id": data["handover_id"], "service": service, "moved": moved})

    return on_handover_requested
