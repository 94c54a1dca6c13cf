"""CONTRACTS §3 permissions, decided by one shared function."""
from __future__ import annotations

import pytest

from shared.auth import Principal, authorize_write
from shared.http import Forbidden


class Directory:
    def __init__(self, teams):
        self.teams = teams

    def get(self, user_id, session=None, token=None):
        return {"id": user_id, "team": self.teams.get(user_id), "active": True}


def who(role, uid="me", team="Iberia"):
    return Principal(id=uid, role=role, team=team)


DIRECTORY = Directory({"me": "Iberia", "mate": "Iberia", "stranger": "LatAm"})


@pytest.mark.parametrize("role,owner,allowed", [
    ("admin", "stranger", True),
    ("rep", "me", True),
    ("rep", "mate", False),
    ("manager", "mate", True),
    ("manager", "stranger", False),
    ("readonly", "me", False),
    ("support", "me", False),
    ("marketing", "me", False),
])
def test_account_writes(role, owner, allowed):
    if allowed:
        authorize_write(who(role), "account", owner, DIRECTORY)
    else:
        with pytest.raises(Forbidden):
            authorize_write(who(role), "account", owner, DIRECTORY)


def test_support_owns_cases_and_marketing_campaigns():
    authorize_write(who("support"), "case", "me", DIRECTORY)
    authorize_write(who("marketing"), "campaign", "me", DIRECTORY)
    with pytest.raises(Forbidden):
        authorize_write(who("rep"), "case", "me", DIRECTORY)
    with pytest.raises(Forbidden):
        authorize_write(who("support"), "campaign", "me", DIRECTORY)


def test_manager_of_unknown_owner_is_refused():
    with pytest.raises(Forbidden):
        authorize_write(who("manager"), "account", "ghost", Directory({}))
