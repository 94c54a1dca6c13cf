"""The search index on Postgres (full-text with unaccent, typos with pg_trgm),
fed with events as the gateway's worker feeds it; the same scenarios as on SQLite."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support import search as scenarios


@pytest.fixture(scope="module")
def gateway(servers, tmp_path_factory):
    from gateway.app import create_app
    from shared import config
    from shared.migrations import upgrade

    url = servers.new_database()
    upgrade("gateway", url)
    app = create_app(config.load("gateway", database_url=url, amqp_url=servers.amqp_url))
    built = type("Built", (), {"app": app, "db": app.extensions["cadena"].db, "client": app.test_client()})()
    yield built
    built.db.dispose()
    servers.drop_database(url)


@pytest.fixture(scope="module")
def world(gateway):
    return scenarios.world(gateway.db)


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda s: s.__name__)
def test_search_on_postgres(gateway, world, scenario):
    scenario(scenarios.Searcher(gateway), world)


def test_the_extensions_and_the_text_search_configuration_are_there(gateway):
    with gateway.db.engine.connect() as conn:
        installed = set(conn.scalars(text("SELECT extname FROM pg_extension")))
        assert {"unaccent", "pg_trgm"} <= installed
        assert conn.scalar(text("SELECT to_tsvector('cadena_search', 'Muñoz GARCÍA')::text")) == "'garcia':2 'munoz':1"


def test_updates_deletes_and_late_events_on_postgres(gateway, world):
    scenarios.check_updates_deletes_and_late_events(gateway.db, scenarios.Searcher(gateway), world)


def test_merged_records_leave_the_search_on_postgres(gateway, world):
    scenarios.check_merged_records_leave(gateway.db, scenarios.Searcher(gateway), world)


def test_bad_parameters_are_422_problems_on_postgres(gateway):
    scenarios.check_bad_parameters(scenarios.Searcher(gateway))


def test_odd_text_never_breaks_the_search_on_postgres(gateway, world):
    search = scenarios.Searcher(gateway)
    for q in ["ー", "²³", "㈠", "ǅ", "İstanbul", "𝔘𝔫𝔦", "٣٤٥٦", "a" * 200, "x\u200by", "a:*|b", "a'b", "!x & y", "+34"]:
        reply = search.raw(q=q)
        assert reply.status_code in (200, 422), (q, reply.get_json())
