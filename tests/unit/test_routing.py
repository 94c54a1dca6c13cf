"""The gateway's route table (gateway/route_table.py) names the owner of
every route every service serves, and of nothing else."""
from __future__ import annotations

import re
import uuid

import pytest

from shared import config
from gateway import route_table, routing


def _sample(rule: str) -> str:
    path = re.sub(r"<uuid:[^>]+>", str(uuid.uuid4()), rule)
    path = re.sub(r"<path:[^>]+>", "a/b", path)
    return re.sub(r"<(?:string:)?[^>]+>", "x", path)


@pytest.mark.parametrize("component", list(config.SERVICE_PORTS))
def test_every_service_route_is_routed_to_its_service(sqlite_build, component):
    app = sqlite_build(component).app
    table = routing.route_table()
    rules = [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/") and r.rule != "/api/v1/openapi.json"]
    assert rules
    for rule in rules:
        sample = _sample(rule)
        assert routing.owner_of(sample, table) == component or component in routing.sharers_of(sample), rule


def test_a_shared_path_is_served_by_the_gateway_and_by_no_single_owner(sqlite_build):
    rules = {r.rule for r in sqlite_build("gateway").app.url_map.iter_rules()}
    assert {"/api/v1/imports", "/api/v1/imports/<import_id>", "/api/v1/imports/<import_id>/errors.csv"} <= rules
    for pattern in route_table.SHARED:
        assert routing.owner_of(pattern.replace("(/.*)?", ""), routing.route_table()) is None


def test_the_table_routes_nothing_twice():
    table = routing.route_table()
    for patterns in route_table.ROUTES.values():
        for pattern in patterns:
            sample = pattern.replace("(/.*)?", "/x").replace("[^/]+", "u").replace("\\.", ".")
            assert sum(1 for p, _ in table if p.fullmatch(sample)) == 1, pattern


def test_nested_paths_go_to_the_service_that_serves_them_before_the_resource_owner():
    table = routing.route_table()
    account = str(uuid.uuid4())
    assert routing.owner_of(f"/api/v1/accounts/{account}/products", table) == "opportunities"
    assert routing.owner_of(f"/api/v1/accounts/{account}/recommendations", table) == "opportunities"
    assert routing.owner_of(f"/api/v1/accounts/{account}/contacts", table) == "accounts"
    assert routing.owner_of(f"/api/v1/accounts/{account}", table) == "accounts"
