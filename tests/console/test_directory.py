"""The console's remembered directory of users and account names."""
from __future__ import annotations

from console.directory import Directory


class Users:
    """A stand-in for the API's /users list that counts its calls."""

    def __init__(self, users):
        self.users, self.calls = users, 0

    def get(self, path, **query):
        assert path == "/users"
        self.calls += 1
        return {"items": list(self.users), "next_cursor": None}


def test_a_team_is_remembered_for_a_while():
    api = Users([{"id": "m1", "team": "Norte"}, {"id": "r1", "team": "Norte"}])
    directory = Directory(ttl=60, clock=lambda: 100.0)
    assert directory.team_of(api, "Norte", member="m1") == {"m1", "r1"}
    assert directory.team_of(api, "Norte", member="m1") == {"m1", "r1"}
    assert api.calls == 1


def test_a_member_it_does_not_know_makes_it_read_the_users_again():
    api = Users([{"id": "m1", "team": "Norte"}])
    directory = Directory(ttl=60, clock=lambda: 100.0)
    directory.team_of(api, "Norte", member="m1")
    api.users = [{"id": "m1", "team": "Norte"}, {"id": "m2", "team": "Sur"}, {"id": "r2", "team": "Sur"}]
    assert directory.team_of(api, "Sur", member="m2") == {"m2", "r2"}  # a manager created a moment ago
    assert api.calls == 2
