"""Support through the gateway, with every process running as `cadena up`
runs them: a case's life (workflow, first response, resolution,
satisfaction), inbound e-mail, and the account view fed by case events."""
from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest

from tests.support.broker import Listener
from tests.support.wait import until


@pytest.fixture(scope="module")
def customer(system):
    account = system.post("/api/v1/accounts", {"name": f"Bodegas Valdeolmos {uuid.uuid4().hex[:6]}",
                                               "country": "ES"})
    assert account.status == 201, account.body
    email = f"maria.{uuid.uuid4().hex[:8]}@valdeolmos.example"
    contact = system.post("/api/v1/contacts", {"first_name": "María", "last_name": "García", "email": email,
                                               "account_id": account.json()["id"]})
    assert contact.status == 201, contact.body
    return {"account": account.json(), "contact": contact.json(), "email": email}


@pytest.fixture(scope="module")
def agent(system):
    return system.make_user("support", "Soporte")


def test_a_case_from_open_to_satisfaction(system, customer, agent):
    listener = Listener(system.amqp_url, ["support.#"])
    token = agent["token"]
    account_id = customer["account"]["id"]
    opened = system.post("/api/v1/cases", {"subject": "No se generan las facturas", "priority": "high",
                                           "channel": "phone", "account_id": account_id,
                                           "contact_id": customer["contact"]["id"]}, token=token)
    assert opened.status == 201, opened.body
    case = opened.json()
    url = f"/api/v1/cases/{case['id']}"
    assert opened.headers["Location"].endswith(url) and opened.headers["ETag"] == '"1"'
    assert (case["status"], case["assignee_id"], case["channel"]) == ("new", agent["id"], "phone")
    assert case["first_response_due_at"] and case["resolution_due_at"]

    view_url = f"/api/v1/accounts/{account_id}/view"
    until(lambda: system.get(view_url).json()["open_cases"] == 1, timeout=15)

    assert system.post(f"{url}/satisfaction", {"score": 5}, token=token).status == 409  # not resolved yet
    comment = system.post(f"{url}/comments", {"body": "Lo revisamos ahora mismo.", "public": True}, token=token)
    assert comment.status == 201, comment.body
    answered = system.get(url).json()
    assert answered["first_responded_at"] and answered["status"] == "open"

    resolved = system.patch(url, {"status": "resolved"}, token=token, headers={"If-Match": f'"{answered["version"]}"'})
    assert resolved.status == 200, resolved.body
    before = system.get(url)
    illegal = system.patch(url, {"status": "pending", "priority": "low"}, token=token)
    assert illegal.status == 409 and illegal.headers["Content-Type"].startswith("application/problem+json")
    assert system.get(url).json() == before.json()  # nothing changed
    stale = system.patch(url, {"subject": "x"}, token=token, headers={"If-Match": '"1"'})
    assert stale.status == 412

    rated = system.post(f"{url}/satisfaction", {"score": 2, "comment": "Tardó demasiado"}, token=token)
    assert rated.status == 201, rated.body
    assert system.post(f"{url}/satisfaction", {"score": 5}, token=token).status == 409
    until(lambda: system.get(view_url).json()["open_cases"] == 0, timeout=15)

    def events_of(kind):
        return listener.of_type(f"support.case.{kind}", case["id"])

    until(lambda: events_of("satisfaction_rated"), timeout=15)
    assert [len(events_of(k)) for k in ("opened", "resolved", "satisfaction_rated")] == [1, 1, 1]
    rated_event = events_of("satisfaction_rated")[0]
    assert rated_event["data"] == {**rated_event["data"], "case_id": case["id"], "account_id": account_id, "score": 2}
    assert rated_event["source"] == "/cadena/support" and rated_event["dataversion"] == "1"
    listener.delete()


def _mail(sender: str, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"María García <{sender}>"
    msg["To"] = "soporte@cadena.local"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@valdeolmos.example>"
    msg.set_content(body)
    return msg.as_bytes()


def test_inbound_email_opens_a_case_and_a_reply_becomes_a_comment(system, customer, agent):
    rfc822 = {"Content-Type": "message/rfc822"}
    first = system.post("/api/v1/cases/inbound-email", raw=_mail(customer["email"], "Error al exportar",
                                                                  "Al exportar a PDF sale un error."),
                        headers=rfc822, token=agent["token"])
    assert first.status == 201, first.body
    case = first.json()
    assert (case["channel"], case["contact_id"], case["account_id"]) == \
        ("email", customer["contact"]["id"], customer["account"]["id"])
    reply = system.post("/api/v1/cases/inbound-email",
                        raw=_mail(customer["email"], f"RE: {case['reference']} Error al exportar",
                                  "Adjunto más detalles.\n\n> Al exportar a PDF sale un error."),
                        headers=rfc822, token=agent["token"])
    assert reply.status == 201, reply.body
    assert reply.json()["id"] == case["id"] and reply.json()["comment"]["author_type"] == "customer"
    comments = system.get(f"/api/v1/cases/{case['id']}/comments").json()["items"]
    assert [(c["body"], c["public"]) for c in comments] == [("Adjunto más detalles.", True)]
    assert system.get(f"/api/v1/cases/{case['id']}").json()["first_responded_at"] is None
    garbage = system.post("/api/v1/cases/inbound-email", raw=b"\x00\x9f not a message", headers=rfc822,
                          token=agent["token"])
    assert garbage.status == 422 and garbage.json()["type"].endswith("validation")


def test_support_is_in_the_public_api(system):
    spec = system.get("/api/v1/openapi.json", token=None).json()
    for path in ("/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/comments",
                 "/api/v1/cases/{case_id}/satisfaction", "/api/v1/cases/inbound-email", "/api/v1/sla-policy"):
        assert path in spec["paths"], path
    policy = system.get("/api/v1/sla-policy").json()
    assert set(policy) == {"urgent", "high", "normal", "low"}
    assert system.get("/api/v1/cases?limit=500").status == 422
    assert system.get(f"/api/v1/cases/{uuid.uuid4()}").status == 404
