"""One OpenAPI 3.1 document for the whole public API, generated from the
gateway's routes and every service's blueprints and schemas."""
from __future__ import annotations

import copy
import importlib

from flask import Flask
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_smorest import Api

from shared import config
from shared.web import schema_name

PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def service_spec(name: str) -> dict:
    """A service's spec, built from its blueprints without a database."""
    module = importlib.import_module(f"services.{name}.api")
    app = Flask(f"spec-{name}")
    app.config.update(API_TITLE=name, API_VERSION="1.0.0", OPENAPI_VERSION="3.1.0")
    api = Api(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})
    for blp in module.BLUEPRINTS:
        api.register_blueprint(blp)
    return api.spec.to_dict()


def merged_spec(gateway_spec: dict) -> dict:
    spec = copy.deepcopy(gateway_spec)
    spec.setdefault("paths", {})
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    responses = spec["components"].setdefault("responses", {})
    tags = {t["name"]: t for t in spec.get("tags", [])}
    for name in config.SERVICE_PORTS:
        try:
            part = service_spec(name)
        except (ImportError, AttributeError):
            continue  # a context not built yet
        spec["paths"].update(part.get("paths", {}))
        for key, value in part.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(key, value)
        for key, value in part.get("components", {}).get("responses", {}).items():
            responses.setdefault(key, value)
        for tag in part.get("tags", []):
            tags.setdefault(tag["name"], tag)
    spec["tags"] = list(tags.values())
    # Only /api/v1 is public; service health endpoints are not part of it.
    spec["paths"] = {p: v for p, v in sorted(spec["paths"].items()) if p.startswith("/api/v1/")}
    _errors_as_problems(spec)
    _body_problems(spec)
    return spec


BODY_PROBLEMS = {
    "400": "The body is not valid JSON, or nests deeper than 64 levels.",
    "413": "The body is larger than this endpoint accepts (CADENA_MAX_BODY_BYTES, 1 MiB).",
    "415": "The body is not JSON (`Content-Type: application/json`).",
}


def _body_problems(spec: dict) -> None:
    """What any operation that takes a body may answer before reading it (CONTRACTS §7)."""
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                for status, description in BODY_PROBLEMS.items():
                    operation.setdefault("responses", {}).setdefault(status, {
                        "description": description, "content": {PROBLEM: {"schema": dict(PROBLEM_REF)}}})


def _is_error(status: str) -> bool:
    return status == "default" or (status[:1] in "45" and status.isdigit())


def _as_problem(response: dict) -> None:
    if "content" in response:
        response["content"] = {PROBLEM: {"schema": dict(PROBLEM_REF)}}


def _errors_as_problems(spec: dict) -> None:
    """Every error answers RFC 9457 application/problem+json; flask-smorest
    documents its own Error schema as application/json, so rewrite those."""
    components = spec["components"]
    for name, response in components.get("responses", {}).items():
        if name == "DEFAULT_ERROR" or name.isupper():
            _as_problem(response)
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if _is_error(str(status)) and "$ref" not in response:
                    _as_problem(response)
    components.get("schemas", {}).pop("Error", None)
