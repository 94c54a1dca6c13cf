"""Accounts and contacts through the gateway, with every process running,
and the events as an outside system receives them."""
from __future__ import annotations

import json
import uuid

import pytest
from openapi_spec_validator import validate

from tests.support.broker import Listener
from tests.support.raw_http import read_answer
from tests.support.wait import until


@pytest.fixture
def outside(system):
    """A queue bound as an outside system (e.g. a data warehouse) would bind it."""
    listening = Listener(system.amqp_url, ["accounts.#"], name=f"warehouse.{uuid.uuid4().hex[:8]}")
    yield listening
    listening.delete()


def test_contact_created_reaches_an_outside_consumer_as_a_valid_cloudevent(system, outside):
    request_id = f"e2e-{uuid.uuid4()}"
    account = system.post("/api/v1/accounts", {"name": "Conservas del Cantábrico S.A.", "country": "ES",
                                               "tax_id": "A48998877"}).json()
    reply = system.post("/api/v1/contacts", {"first_name": "Itziar", "last_name": "Etxeberria",
                                             "email": "itziar@conservas.es", "account_id": account["id"],
                                             "role": "decision_maker"}, headers={"X-Request-ID": request_id})
    assert reply.status == 201
    assert reply.headers["X-Request-ID"] == request_id
    contact = reply.json()
    assert reply.headers["Location"] == f"/api/v1/contacts/{contact['id']}"
    events = until(lambda: outside.of_type("accounts.contact.created", contact["id"]), timeout=15)
    assert len(events) == 1
    event = events[0]
    assert event["specversion"] == "1.0" and event["source"] == "/cadena/accounts"
    assert event["correlationid"] == request_id and event["dataversion"] == "1"
    assert event["data"]["email"] == "itziar@conservas.es"
    method, props, _ = next(r for r in outside.raw if r[0].routing_key == "accounts.contact.created"
                            and event["id"] == r[1].message_id)
    assert props.delivery_mode == 2 and props.content_type == "application/cloudevents+json"


def test_bad_input_is_a_clear_problem_and_writes_nothing(system):
    before = system.get("/api/v1/accounts?q=Nunca%20Creada").json()["items"]
    reply = system.post("/api/v1/accounts", {"name": "Nunca Creada", "annual_revenue": {"amount": "1,5", "currency": "EUR"}})
    assert reply.status == 422
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    problem = reply.json()
    assert set(problem) >= {"type", "title", "status", "detail", "instance", "errors"}
    assert "annual_revenue.amount" in problem["errors"]
    malformed = system.request("POST", "/api/v1/accounts", raw=b"{oops", headers={"Content-Type": "application/json"})
    assert malformed.status == 400 and malformed.json()["status"] == 400
    assert system.get("/api/v1/accounts?q=Nunca%20Creada").json()["items"] == before == []


def _raw_exchange(system, request: bytes) -> tuple[int, dict, bytes]:
    """Bytes straight onto the gateway's socket: what an HTTP client would refuse to send."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(system.url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(request)
        line, headers, body = read_answer(sock)
    return int(line.split()[1]), headers, body


def test_a_request_the_web_server_cannot_read_is_a_problem_too(system):
    """gunicorn answers these itself, before the application: still problem+json."""
    for request, status in ((b"GET /api/v1/accounts/\xc3\xb1 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
                            (b"NOT-HTTP\r\n\r\n", 400),
                            (b"GET /api/v1/accounts?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)):
        code, headers, body = _raw_exchange(system, request)
        assert code == status and headers["Content-Type"] == "application/problem+json", (code, headers, body[:200])
        problem = json.loads(body)
        assert problem["status"] == status and problem["type"].startswith("https://cadena.dev/problems/")
        assert problem["detail"] and headers["X-Request-ID"]


def test_idempotency_key_through_the_gateway(system):
    body = {"first_name": "Rosa", "email": f"rosa.{uuid.uuid4().hex[:6]}@agricola.es"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = system.post("/api/v1/contacts", body, headers=key)
    again = system.post("/api/v1/contacts", body, headers=key)
    assert first.status == again.status == 201
    assert first.json()["id"] == again.json()["id"]
    assert system.post("/api/v1/contacts", {**body, "first_name": "Otra"}, headers=key).status == 422
    assert len(system.get(f"/api/v1/contacts?email={body['email']}").json()["items"]) == 1


def test_permissions_through_the_gateway(system):
    rep = system.make_user("rep", team="Iberia")
    colleague = system.make_user("rep", team="Iberia")
    manager = system.make_user("manager", team="Iberia")
    readonly = system.make_user("readonly")
    own = system.post("/api/v1/accounts", {"name": "Talleres Gijón"}, token=rep["token"])
    assert own.status == 201 and own.json()["owner_id"] == rep["id"]
    assert system.post("/api/v1/accounts", {"name": "Ajena", "owner_id": colleague["id"]}, token=rep["token"]).status == 403
    theirs = system.post("/api/v1/accounts", {"name": "De otro"}, token=colleague["token"]).json()
    assert system.patch(f"/api/v1/accounts/{theirs['id']}", {"city": "Oviedo"}, token=rep["token"]).status == 403
    assert system.patch(f"/api/v1/accounts/{theirs['id']}", {"city": "Oviedo"}, token=manager["token"]).status == 200
    assert system.post("/api/v1/accounts", {"name": "No"}, token=readonly["token"]).status == 403
    assert system.get("/api/v1/accounts", token=readonly["token"]).status == 200
    assert system.get("/api/v1/accounts", token=None).status == 401


def test_etag_and_if_match_through_the_gateway(system):
    created = system.post("/api/v1/accounts", {"name": "Versión SL"})
    etag = created.headers["ETag"]
    path = created.headers["Location"]
    assert system.patch(path, {"city": "Toledo"}, headers={"If-Match": etag}).status == 200
    assert system.patch(path, {"city": "Cuenca"}, headers={"If-Match": etag}).status == 412
    assert system.get(path).json()["city"] == "Toledo"


def test_openapi_document_is_valid_and_lists_what_the_gateway_serves(system):
    spec = system.get("/api/v1/openapi.json", token=None).json()
    validate(spec)
    for path in ("/api/v1/auth/token", "/api/v1/users", "/api/v1/accounts", "/api/v1/contacts",
                 "/api/v1/accounts/{account_id}/org-chart", "/api/v1/accounts/{account_id}/view"):
        assert path in spec["paths"]


def test_health_readiness_and_metrics(system):
    assert system.get("/healthz", token=None).status == 200
    assert system.get("/readyz", token=None).status == 200
    metrics = system.get("/metrics", token=None)
    assert metrics.status == 200 and b"cadena_http_requests_total" in metrics.body
