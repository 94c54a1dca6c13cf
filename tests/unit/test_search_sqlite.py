"""The search index on SQLite (local mode, FTS5), fed with events as the gateway's worker feeds it."""
from __future__ import annotations

import pytest

from tests.support import search as scenarios


@pytest.fixture
def gateway(sqlite_build):
    return sqlite_build("gateway")


@pytest.fixture
def world(gateway):
    return scenarios.world(gateway.db)


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda s: s.__name__)
def test_search_on_sqlite(gateway, world, scenario):
    scenario(scenarios.Searcher(gateway), world)


def test_updates_deletes_and_late_events_on_sqlite(gateway, world):
    scenarios.check_updates_deletes_and_late_events(gateway.db, scenarios.Searcher(gateway), world)


def test_merged_records_leave_the_search_on_sqlite(gateway, world):
    scenarios.check_merged_records_leave(gateway.db, scenarios.Searcher(gateway), world)


def test_bad_parameters_are_422_problems(gateway):
    scenarios.check_bad_parameters(scenarios.Searcher(gateway))


def test_any_signed_in_role_may_search(gateway, world):

    for role in ("readonly", "support", "marketing", "rep"):
        reply = gateway.client.get("/api/v1/search?q=garcia", headers=_user_headers(gateway, role))
        assert reply.status_code == 200 and reply.get_json()["items"], role
    assert gateway.client.get("/api/v1/search?q=garcia").status_code == 401


def _user_headers(gateway, role: str) -> dict:
    admin = scenarios.Searcher(gateway).headers
    email = f"{role}@search.example"
    gateway.client.post("/api/v1/users", json={"email": email, "name": role, "role": role,
                                               "password": "long-enough"}, headers=admin)
    token = gateway.client.post("/api/v1/auth/token", json={"email": email, "password": "long-enough"})
    return {"Authorization": "Bearer " + token.get_json()["access_token"]}


@pytest.mark.parametrize("q", ["ー", "²³", "㈠", "ǅ", "ß", "İstanbul", "𝔘𝔫𝔦", "٣٤٥٦", "a" * 200, "x\u200by",
                               "\"a\" OR b*", "NEAR(a b)", "col:value", "-x", "a'b", "(((", "+34"])
def test_odd_text_never_breaks_the_search(gateway, world, q):
    reply = scenarios.Searcher(gateway).raw(q=q)
    assert reply.status_code in (200, 422), reply.get_json()
