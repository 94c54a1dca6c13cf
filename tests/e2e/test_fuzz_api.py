"""Fuzzing the public API (schemathesis) against the running system: every
operation of /api/v1/openapi.json, with valid and with invalid data, must
answer without a 5xx, every error must be problem+json (type, title, status),
and responses must match the document.

Bounded for CI: CADENA_FUZZ_EXAMPLES cases per operation and mode (10),
a fixed seed (CADENA_FUZZ_SEED) so a run is reproducible, and a time budget
(CADENA_FUZZ_BUDGET seconds, 150). Findings that are known, reported bugs
are listed in KNOWN_BUGS: they are reported as warnings instead of failing
the run; remove an entry when its bug is fixed.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_headers_conformance, response_schema_conformance,
                                               status_code_conformance)

EXAMPLES = int(os.environ.get("CADENA_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("CADENA_FUZZ_SEED", "20261123"))
BUDGET = float(os.environ.get("CADENA_FUZZ_BUDGET", "150"))
# Operations not fuzzed, and why.
SKIPPED = {
    ("PUT", "/api/v1/sla-policy"): "a global policy other e2e tests of this session rely on",
    ("POST", "/api/v1/auth/logout"): "it would end the fuzzer's own login; tests/e2e/test_security_e2e.py covers it",
}
CHECKS = (not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance,
          response_headers_conformance, negative_data_rejection)


@dataclass
class Finding:
    operation: str
    mode: str
    check: str
    status: int
    detail: str
    request: dict
    curl: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.mode}] {self.check} → HTTP {self.status}: {self.detail[:600]}\n    {self.curl}"


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, bytes):
        return b"\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def _partial_money(value) -> bool:
    """A JSON object that has one of amount/currency but not the other, anywhere in value."""
    if isinstance(value, dict):
        if ("amount" in value) != ("currency" in value):
            return True
        return any(_partial_money(v) for v in value.values())
    if isinstance(value, list):
        return any(_partial_money(v) for v in value)
    return False


@dataclass(frozen=True)
class Known:
    name: str
    report: str
    matches: Callable[[Finding], bool]


KNOWN_BUGS: list[Known] = []


# Findings that are not bugs, and why.
NOT_BUGS = [
    # A body over the size limit is refused with 413 before it is read: a rejection, however invalid it was.
    lambda f: f.check == "negative_data_rejection" and f.status == 413,
    # Unknown query parameters are ignored, as most HTTP APIs do; schemathesis counts them as invalid input.
    lambda f: f.check == "negative_data_rejection" and "violates `additionalProperties`" in f.detail
    and "query" in f.detail and "became" not in f.detail and "violates `type`" not in f.detail,
]


def _problem_issue(response) -> str | None:
    """Why an error response is not RFC 9457 problem+json, or None."""
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/problem+json"):
        return f"Content-Type {content_type!r}, not application/problem+json"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(body, dict):
        return "the body is not an object"
    missing = [k for k in ("type", "title", "status") if k not in body]
    if missing:
        return f"the body lacks {missing}"
    if body["status"] != response.status_code:
        return f"body status {body['status']} != HTTP {response.status_code}"
    return None


@pytest.fixture(scope="module")
def api(system):
    token = system.login("admin@cadena.local", "admin")  # a login of its own: nothing it does ends another's
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{system.url}/api/v1/openapi.json", headers=auth, timeout=30)
    load_all_checks()
    # Inbound e-mail takes a raw RFC 5322 message: send generated text as is.
    schemathesis.serializer.alias("message/rfc822", "text/plain")
    return schema, auth


def _fuzz(operation, mode: GenerationMode, base_url: str, auth: dict, index: int, findings: list) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @seed(SEED + index)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base_url, headers=auth, timeout=15)
        request = {"path": case.path_parameters, "query": case.query, "body": case.body}
        curl = case.as_curl_command(headers=auth)

        def found(check: str, detail: str) -> None:
            findings.append(Finding(label, mode.value, check, response.status_code, detail, request, curl[:800]))

        for check in CHECKS:
            try:
                case.validate_response(response, checks=[check], headers=auth)
            except BaseExceptionGroup as group:  # schemathesis' FailureGroup
                for failure in group.exceptions:
                    found(check.__name__, f"{getattr(failure, 'title', '')}: {getattr(failure, 'message', failure)}")
            except AssertionError as failure:
                found(check.__name__, str(failure))
        if response.status_code >= 400:
            issue = _problem_issue(response)
            if issue:
                found("problem_json", issue)

    try:
        run()
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (no parameters, no body,
        # no credentials: the token and JWKS documents); there is no negative case.
        if mode is not GenerationMode.NEGATIVE:
            raise


def test_fuzz_every_operation(system, api):
    schema, auth = api
    findings: list[Finding] = []
    started = time.monotonic()
    left_out = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20, "the OpenAPI document lists too few operations"
    for index, operation in enumerate(operations):
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED:
            continue
        if time.monotonic() - started > BUDGET:
            left_out.append(" ".join(key))
            continue
        for offset, mode in enumerate((GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
            _fuzz(operation, mode, system.url, auth, 2 * index + offset, findings)

    known: dict[str, list[Finding]] = {}
    unknown = []
    for finding in findings:
        if any(ignore(finding) for ignore in NOT_BUGS):
            continue
        bug = next((k for k in KNOWN_BUGS if k.matches(finding)), None)
        if bug is None:
            unknown.append(finding)
        else:
            known.setdefault(bug.name, []).append(finding)
    for bug in KNOWN_BUGS:
        if bug.name in known:
            sample = str(known[bug.name][0])
            warnings.warn(f"known bug {bug.name} ({len(known[bug.name])}×): {bug.report}; e.g. {sample[:400]}",
                          stacklevel=1)
    if left_out:
        warnings.warn(f"fuzz budget of {BUDGET:.0f}s spent; not fuzzed: {', '.join(left_out)}", stacklevel=1)
    assert system.get("/readyz", token=None).status == 200, "the system is not ready after fuzzing"
    unique = {(f.operation, f.check, f.detail[:120]): f for f in unknown}
    assert not unique, f"{len(unknown)} finding(s), {len(unique)} distinct:\n" + "\n".join(map(str, unique.values()))


# -- findings fuzzing made once, one reproduction each ------------------------------------------

def _is_problem(reply, status_range=range(400, 500)) -> bool:
    return reply.status in status_range and reply.headers.get("Content-Type", "").startswith("application/problem+json")


def test_a_nul_character_is_refused_as_a_client_error(system):
    assert _is_problem(system.get("/api/v1/contacts?account_id=%00x"))
    assert _is_problem(system.post("/api/v1/accounts", {"name": "a\u0000b"}))


def test_half_a_money_object_in_a_patch_is_a_422(system):
    account = system.post("/api/v1/accounts", {"name": "Media Moneda S.L."}).json()
    reply = system.patch(f"/api/v1/accounts/{account['id']}", {"annual_revenue": {"currency": "EUR"}})
    assert reply.status == 422 and _is_problem(reply)


def test_pipeline_refuses_a_currency_that_does_not_exist(system):
    if system.get("/api/v1/pipeline/stages").status == 404:
        pytest.skip("the opportunities service is not part of this build")
    assert system.get("/api/v1/pipeline?currency=ZZZ").status == 422


def test_openapi_documents_money_amounts_as_decimal_strings(system):
    spec = system.get("/api/v1/openapi.json", token=None).json()
    assert spec["components"]["schemas"]["Money"]["properties"]["amount"].get("type") == "string"


def test_openapi_documents_errors_as_problem_json(system):
    spec = system.get("/api/v1/openapi.json", token=None).json()
    default = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(default) == ["application/problem+json"]


def test_openapi_public_operations_need_no_token(system):
    spec = system.get("/api/v1/openapi.json", token=None).json()
    assert spec["paths"]["/api/v1/auth/token"]["post"].get("security") == []
    assert spec["paths"]["/api/v1/auth/jwks.json"]["get"].get("security") == []


def test_a_long_url_is_answered_with_a_problem(system):
    reply = system.get("/api/v1/contacts?q=" + "x" * 5000)
    assert reply.status == 422 and _is_problem(reply)


def test_a_case_number_too_large_for_the_database_is_a_422(system):
    if system.get("/api/v1/cases?limit=1").status == 404:
        pytest.skip("the support service is not part of this build")
    reply = system.get("/api/v1/cases?number=44912537205962704945152")
    assert reply.status == 422 and _is_problem(reply)
