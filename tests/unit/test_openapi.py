"""The OpenAPI document covers every public route that any process serves."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from shared import config


@pytest.fixture
def spec(sqlite_build):
    return sqlite_build("gateway").client.get("/api/v1/openapi.json").get_json()


def _template(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_the_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate(spec)


@pytest.mark.parametrize("component", ["gateway", *config.SERVICE_PORTS])
def test_every_public_route_is_documented_with_its_methods(sqlite_build, spec, component):
    app = sqlite_build(component).app
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "<path:" in rule.rule:
            continue  # the gateway's proxy route stands for the services' routes
        path = _template(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in spec["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []


def test_every_error_response_is_documented_as_problem_json(spec):
    assert "Error" not in spec["components"]["schemas"]
    documented = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                if (status == "default" or int(status) >= 400) and "content" in response:
                    documented.append((f"{method} {path} {status}", list(response["content"])))
    assert documented, "no error responses documented at all"
    assert [d for d in documented if d[1] != ["application/problem+json"]] == []
    assert spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}


def test_api_docs_page_for_people(sqlite_build):
    client = sqlite_build("gateway").client
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'spec-url="/api/v1/openapi.json"' in page.data
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    script = client.get("/api/docs/redoc.standalone.js")
    assert script.status_code == 200 and len(script.data) > 100_000
    script.close()
