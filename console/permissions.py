"""What each role may do, as the API decides it (shared/auth.py OWNER_ROLES
and the views' checks): pages hide what the user cannot use, and the API's
403 is still shown politely if a form is reached anyway."""
from __future__ import annotations

from console.auth import current_user

EVERYONE = frozenset({"admin", "manager", "rep", "support", "marketing", "readonly"})
WRITERS = EVERYONE - {"readonly"}

ROLES_FOR = {
    "set_quota": frozenset({"admin", "manager"}),
    "plan_activity": frozenset({"admin", "manager", "rep", "support", "marketing"}),
    "see_team_agenda": frozenset({"admin", "manager"}),
    "write_case": frozenset({"admin", "manager", "support"}),
    "comment_case": WRITERS,
    "write_campaign": frozenset({"admin", "manager", "marketing"}),
    "see_users": frozenset({"admin", "manager"}),
    "manage_users": frozenset({"admin"}),
    "hand_over": frozenset({"admin", "manager"}),
    "manage_api_clients": frozenset({"admin"}),
    "merge": frozenset({"admin", "manager", "rep"}),  # the roles that own accounts and contacts
    "manage_webhooks": frozenset({"admin"}),
    "import_data": frozenset({"admin", "manager", "rep"}),
}


def can(action: str) -> bool:
    user = current_user()
    return bool(user) and user.get("role") in ROLES_FOR[action]
