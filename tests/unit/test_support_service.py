"""Support's use cases through its HTTP API on SQLite (no broker): cases,
the workflow, SLA clocks, comments, satisfaction, inbound e-mail, and the
accounts view kept from case events."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from shared import events, inbox
from shared.auth import upsert_user
from tests.support.auth import headers

from services.support import handlers, sla

SUPPORT = str(uuid.uuid4())
ACCOUNT = str(uuid.uuid4())
CONTACT = str(uuid.uuid4())


@pytest.fixture
def support(sqlite_build):
    built = sqlite_build("support", gateway_url="http://127.0.0.1:1", extra={"accounts_url": "http://127.0.0.1:1"})
    # A replica miss asks accounts, which (here) knows nothing more: "no such record".
    lookup = built.app.extensions["cadena"].accounts
    lookup.fetch = lambda path, token, **_: None
    lookup.try_fetch = lambda path, token: None
    built.app.extensions["cadena"].directory.gateway.fetch = lambda path, token, **_: None  # nor the gateway
    feed(built.db, "accounts.account.created", {"id": ACCOUNT, "name": "Bodegas Valdeolmos", "version": 1})
    feed(built.db, "accounts.contact.created", {"id": CONTACT, "first_name": "María", "last_name": "García",
                                                "email": "Maria@Bodegas.es", "account_id": ACCOUNT, "version": 1})
    return built


def feed(db, routing_key: str, data: dict, handlers_=None, consumer="cadena.test.events", event_id=None) -> dict:
    event = events.new_event(source="test", type=routing_key, subject=data.get("id"), data=data, event_id=event_id)
    outcome = inbox.handle(db, consumer, handlers_ or handlers.HANDLERS, routing_key, events.encode(event))
    assert outcome == inbox.ACK
    return event


def published(db, routing_key: str | None = None) -> list[dict]:
    with db.sessions() as session:
        bodies = session.scalars(select(db.tables.outbox.c.body).order_by(db.tables.outbox.c.id)).all()
    found = [events.decode(b) for b in bodies]
    return [e for e in found if routing_key is None or e["type"] == routing_key]


def staff(role="support", user_id=SUPPORT, team="Soporte"):
    return headers(role, user_id, team)


def open_case(client, **body):
    body = {"subject": "La factura no cuadra", "account_id": ACCOUNT, **body}
    reply = client.post("/api/v1/cases", json=body, headers=body.pop("headers", None) or staff())
    assert reply.status_code == 201, reply.json
    return reply.json


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


# -- cases ----------------------------------------------------------------------------

def test_open_a_case_with_defaults_number_sla_and_event(support):
    client = support.client
    reply = client.post("/api/v1/cases", json={"subject": "No arranca", "priority": "urgent", "account_id": ACCOUNT},
                        headers=staff())
    assert reply.status_code == 201
    case = reply.json
    assert reply.headers["Location"] == f"/api/v1/cases/{case['id']}"
    assert reply.headers["ETag"] == '"1"'
    assert (case["number"], case["reference"], case["status"], case["channel"]) == (1, "[#1]", "new", "web")
    assert case["assignee_id"] == SUPPORT
    created = when(case["created_at"])
    assert when(case["first_response_due_at"]) - created == timedelta(hours=1)
    assert when(case["resolution_due_at"]) - created == timedelta(hours=4)
    assert open_case(client)["number"] == 2
    opened = published(support.db, "support.case.opened")
    assert [e["data"]["number"] for e in opened] == [1, 2]
    assert opened[0]["subject"] == case["id"] and opened[0]["data"]["status"] == "new"


def test_a_contact_brings_its_account(support):
    case = open_case(support.client, account_id=None, contact_id=CONTACT)
    assert case["account_id"] == ACCOUNT


@pytest.mark.parametrize("body,field", [
    ({"account_id": str(uuid.uuid4())}, "account_id"),
    ({"contact_id": str(uuid.uuid4())}, "contact_id"),
    ({"subject": ""}, "subject"),
    ({"priority": "critical"}, "priority"),
    ({"channel": "fax"}, "channel"),
    ({"status": "resolved"}, "status"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_cases_are_422(support, body, field):
    reply = support.client.post("/api/v1/cases", json={"subject": "x", **body}, headers=staff())
    assert reply.status_code == 422, reply.json
    assert reply.content_type == "application/problem+json"
    assert field in reply.json["errors"]


def test_contact_of_another_account_is_422(support):
    other = str(uuid.uuid4())
    feed(support.db, "accounts.account.created", {"id": other, "name": "Otra", "version": 1})
    reply = support.client.post("/api/v1/cases", json={"subject": "x", "account_id": other, "contact_id": CONTACT},
                                headers=staff())
    assert reply.status_code == 422 and "contact_id" in reply.json["errors"]


def test_a_deleted_account_is_unknown(support):
    feed(support.db, "accounts.account.deleted", {"id": ACCOUNT, "name": "Bodegas"})
    reply = support.client.post("/api/v1/cases", json={"subject": "x", "account_id": ACCOUNT}, headers=staff())
    assert reply.status_code == 422


def test_who_may_open_cases(support):
    client = support.client
    assert client.post("/api/v1/cases", json={"subject": "x"}, headers=headers("rep")).status_code == 403
    assert client.post("/api/v1/cases", json={"subject": "x"}, headers=headers("readonly")).status_code == 403
    assert client.post("/api/v1/cases", json={"subject": "x", "assignee_id": str(uuid.uuid4())},
                       headers=staff()).status_code == 403  # support cannot give a case to someone else
    reply = client.post("/api/v1/cases", json={"subject": "x"}, headers=headers("admin"))
    assert reply.status_code == 201 and reply.json["assignee_id"] is None
    assert client.post("/api/v1/cases", json={"subject": "x"}, headers=headers("manager")).json["assignee_id"]


def test_the_assignee_must_be_an_active_support_user(support):
    users = {"active": ("support", True), "gone": ("support", False), "seller": ("rep", True)}
    ids = {name: str(uuid.uuid4()) for name in users}
    with support.db.transaction() as uow:
        for name, (role, active) in users.items():
            upsert_user(uow.session, support.db, {"id": ids[name], "email": f"{name}@x.test", "name": name,
                                                  "role": role, "team": "Soporte", "active": active})
    admin = headers("admin")
    post = lambda who: support.client.post("/api/v1/cases", json={"subject": "x", "assignee_id": who},  # noqa: E731
                                           headers=admin)
    assert post(ids["active"]).status_code == 201
    for who in (ids["gone"], ids["seller"], str(uuid.uuid4())):
        reply = post(who)
        assert reply.status_code == 422 and "assignee_id" in reply.json["errors"]


def test_illegal_transition_is_409_and_changes_nothing(support):
    client = support.client
    case = open_case(client)
    url = f"/api/v1/cases/{case['id']}"
    assert client.patch(url, json={"status": "closed"}, headers=staff()).status_code == 200
    before = client.get(url, headers=staff()).json
    events_before = len(published(support.db))
    reply = client.patch(url, json={"status": "open", "subject": "changed"}, headers=staff())
    assert reply.status_code == 409
    assert reply.json["status"] == 409 and reply.json["current_status"] == "closed"
    assert reply.json["allowed"] == []
    assert client.get(url, headers=staff()).json == before
    assert len(published(support.db)) == events_before


def test_workflow_events_resolve_reopen_close(support):
    client = support.client
    case = open_case(client)
    url = f"/api/v1/cases/{case['id']}"
    resolved = client.patch(url, json={"status": "resolved"}, headers=staff()).json
    assert resolved["resolved_at"] and resolved["version"] == 2
    reopened = client.patch(url, json={"status": "open"}, headers=staff()).json
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    closed = client.patch(url, json={"status": "closed"}, headers=staff()).json
    assert closed["closed_at"] and closed["resolved_at"]
    types = [e["type"] for e in published(support.db) if e["subject"] == case["id"]]
    assert types == ["support.case.opened", "support.case.resolved", "support.case.updated", "support.case.closed"]


def test_same_status_is_no_change(support):
    case = open_case(support.client)
    reply = support.client.patch(f"/api/v1/cases/{case['id']}", json={"status": "new"}, headers=staff())
    assert reply.status_code == 200 and reply.json["version"] == 1


def test_stale_if_match_is_412(support):
    client = support.client
    case = open_case(client)
    url = f"/api/v1/cases/{case['id']}"
    assert client.patch(url, json={"subject": "a"}, headers={**staff(), "If-Match": '"1"'}).status_code == 200
    reply = client.patch(url, json={"subject": "b"}, headers={**staff(), "If-Match": '"1"'})
    assert reply.status_code == 412
    assert client.get(url, headers=staff()).json["subject"] == "a"


def test_priority_change_recomputes_due_times(support):
    client = support.client
    case = open_case(client, priority="low")
    changed = client.patch(f"/api/v1/cases/{case['id']}", json={"priority": "high"}, headers=staff()).json
    created = when(case["created_at"])
    assert when(changed["first_response_due_at"]) - created == timedelta(hours=4)
    assert when(changed["resolution_due_at"]) - created == timedelta(hours=24)


def test_others_cases_are_forbidden_and_delete_is_soft(support):
    client = support.client
    case = open_case(client)
    url = f"/api/v1/cases/{case['id']}"
    assert client.patch(url, json={"subject": "mine now"}, headers=headers("support")).status_code == 403
    assert client.delete(url, headers=headers("support")).status_code == 403
    assert client.delete(url, headers=staff()).status_code == 204
    assert client.get(url, headers=staff()).status_code == 404
    assert client.get("/api/v1/cases", headers=staff()).json["items"] == []
    assert published(support.db, "support.case.deleted")[0]["data"]["deleted_at"]


def test_list_filters_and_pages(support):
    client = support.client
    for priority in ("low", "urgent", "urgent"):
        open_case(client, priority=priority)
    page = client.get("/api/v1/cases?priority=urgent&limit=1", headers=staff()).json
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"/api/v1/cases?priority=urgent&limit=1&cursor={page['next_cursor']}", headers=staff()).json
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert page["items"][0]["id"] != rest["items"][0]["id"]
    assert len(client.get("/api/v1/cases?status=new,open", headers=staff()).json["items"]) == 3
    assert client.get("/api/v1/cases?number=2", headers=staff()).json["items"][0]["priority"] == "urgent"
    assert client.get("/api/v1/cases?limit=0", headers=staff()).status_code == 422
    assert client.get("/api/v1/cases?limit=201", headers=staff()).status_code == 422


# -- comments and the first response ---------------------------------------------------

def test_first_public_staff_comment_is_the_first_response(support):
    client = support.client
    case = open_case(client)
    url = f"/api/v1/cases/{case['id']}"
    note = client.post(f"{url}/comments", json={"body": "internal", "public": False}, headers=staff())
    assert note.status_code == 201 and note.json["author_type"] == "staff"
    assert client.get(url, headers=staff()).json["first_responded_at"] is None
    reply = client.post(f"{url}/comments", json={"body": "Lo miramos", "public": True},
                        headers=headers("rep"))  # staff: any non-readonly user
    assert reply.status_code == 201
    after = client.get(url, headers=staff()).json
    assert after["first_responded_at"] and after["status"] == "open"
    client.post(f"{url}/comments", json={"body": "again"}, headers=staff())
    assert client.get(url, headers=staff()).json["first_responded_at"] == after["first_responded_at"]
    listed = client.get(f"{url}/comments", headers=headers("readonly")).json
    assert [c["body"] for c in listed["items"]] == ["internal", "Lo miramos", "again"]
    assert len(client.get(f"{url}/comments?public=false", headers=staff()).json["items"]) == 1
    assert client.post(f"{url}/comments", json={"body": "x"}, headers=headers("readonly")).status_code == 403
    assert client.post(f"{url}/comments", json={}, headers=staff()).status_code == 422
    types = [e["type"] for e in published(support.db) if e["subject"] == case["id"]]
    assert types.count("support.case.commented") == 3 and types.count("support.case.updated") == 1


def test_no_comments_on_a_closed_case(support):
    case = open_case(support.client)
    support.client.patch(f"/api/v1/cases/{case['id']}", json={"status": "closed"}, headers=staff())
    assert support.client.post(f"/api/v1/cases/{case['id']}/comments", json={"body": "x"},
                               headers=staff()).status_code == 409


# -- satisfaction --------------------------------------------------------------------------

def test_satisfaction_once_after_resolution(support):
    client = support.client
    case = open_case(client)
    url = f"/api/v1/cases/{case['id']}"
    rate = lambda score: client.post(f"{url}/satisfaction", json={"score": score, "comment": "meh"},  # noqa: E731
                                     headers=staff())
    assert rate(2).status_code == 409  # not resolved yet
    assert client.get(f"{url}/satisfaction", headers=staff()).status_code == 404
    client.patch(url, json={"status": "resolved"}, headers=staff())
    assert rate(0).status_code == 422 and rate(6).status_code == 422
    first = rate(2)
    assert first.status_code == 201 and first.json["score"] == 2
    assert rate(5).status_code == 409
    assert client.get(f"{url}/satisfaction", headers=staff()).json["score"] == 2
    assert client.get(url, headers=staff()).json["satisfaction"]["score"] == 2
    [event] = published(support.db, "support.case.satisfaction_rated")
    assert event["data"]["case_id"] == case["id"]
    assert (event["data"]["account_id"], event["data"]["score"]) == (ACCOUNT, 2)


# -- SLA -----------------------------------------------------------------------------------

def test_sla_breaches_are_published_once_per_target(support):
    client = support.client
    quiet = open_case(client, priority="urgent")
    answered = open_case(client, priority="urgent")
    client.post(f"/api/v1/cases/{answered['id']}/comments", json={"body": "hola"}, headers=staff())
    solved = open_case(client, priority="urgent")
    client.patch(f"/api/v1/cases/{solved['id']}", json={"status": "resolved"}, headers=staff())
    assert sla.publish_breaches(support.db) == 0  # nothing is due yet
    later = datetime.fromisoformat(quiet["resolution_due_at"]) + timedelta(seconds=1)
    assert sla.publish_breaches(support.db, now=later) == 3
    assert sla.publish_breaches(support.db, now=later + timedelta(hours=1)) == 0
    breaches = {(e["subject"], e["data"]["target"]) for e in published(support.db, "support.case.sla_breached")}
    assert breaches == {(quiet["id"], "first_response"), (quiet["id"], "resolution"), (answered["id"], "resolution")}
    event = published(support.db, "support.case.sla_breached")[0]["data"]
    assert event["account_id"] == ACCOUNT and event["due_at"] == quiet["first_response_due_at"]
    shown = client.get(f"/api/v1/cases/{quiet['id']}", headers=staff()).json
    assert shown["sla_breached"] and shown["version"] == 1  # a breach is not an edit
    assert [c["id"] for c in client.get("/api/v1/cases?sla_breached=true", headers=staff()).json["items"]] == \
        [quiet["id"], answered["id"]]


def _overdue(db, case_id: str, **dues) -> None:
    """Test setup: move due times into the past (the API cannot backdate)."""
    from sqlalchemy import update

    from services.support.models import Case

    past = {k: datetime.fromisoformat("2020-01-01T00:00:00+00:00") for k in dues}
    with db.transaction() as uow:
        uow.session.execute(update(Case).where(Case.id == case_id).values(**past))


def test_a_clock_stopped_late_is_a_breach_without_waiting_for_the_job(support):
    client = support.client
    case = open_case(client)
    _overdue(support.db, case["id"], first_response_due_at=True, resolution_due_at=True)
    client.post(f"/api/v1/cases/{case['id']}/comments", json={"body": "Perdón por la espera"}, headers=staff())
    assert [e["data"]["target"] for e in published(support.db, "support.case.sla_breached")] == ["first_response"]
    resolved = client.patch(f"/api/v1/cases/{case['id']}", json={"status": "resolved"}, headers=staff())
    assert resolved.json["resolution_breached_at"] and resolved.json["sla_breached"]
    assert sla.publish_breaches(support.db) == 0
    assert len(published(support.db, "support.case.sla_breached")) == 2


def test_resolving_unanswered_after_the_due_time_breaches_both_clocks_once(support):
    client = support.client
    case = open_case(client)
    _overdue(support.db, case["id"], first_response_due_at=True)
    assert sla.publish_breaches(support.db) == 1  # the job saw the first response late
    client.patch(f"/api/v1/cases/{case['id']}", json={"status": "closed"}, headers=staff())
    assert [e["data"]["target"] for e in published(support.db, "support.case.sla_breached")] == ["first_response"]


def test_closing_late_a_case_resolved_in_time_is_no_breach(support):
    client = support.client
    case = open_case(client)
    client.post(f"/api/v1/cases/{case['id']}/comments", json={"body": "hecho"}, headers=staff())
    client.patch(f"/api/v1/cases/{case['id']}", json={"status": "resolved"}, headers=staff())
    _overdue(support.db, case["id"], first_response_due_at=True, resolution_due_at=True)
    client.patch(f"/api/v1/cases/{case['id']}", json={"status": "closed"}, headers=staff())
    assert sla.publish_breaches(support.db) == 0
    assert published(support.db, "support.case.sla_breached") == []


def test_sla_policy_get_put(support):
    client = support.client
    policy = client.get("/api/v1/sla-policy", headers=headers("readonly")).json
    assert policy["urgent"] == {"first_response_seconds": 3600, "resolution_seconds": 14400}
    body = {"urgent": {"first_response_seconds": 60, "resolution_seconds": 600}}
    assert client.put("/api/v1/sla-policy", json=body, headers=staff()).status_code == 403
    reply = client.put("/api/v1/sla-policy", json=body, headers=headers("manager"))
    assert reply.status_code == 200 and reply.json["urgent"]["first_response_seconds"] == 60
    assert reply.json["low"] == policy["low"]
    for bad in ({}, {"urgent": {"first_response_seconds": 60}}, {"critical": body["urgent"]},
                {"low": {"first_response_seconds": 0, "resolution_seconds": 10}},
                {"low": {"first_response_seconds": "60", "resolution_seconds": 600}},
                {"low": {"first_response_seconds": 700, "resolution_seconds": 600}}):
        assert client.put("/api/v1/sla-policy", json=bad, headers=headers("admin")).status_code == 422, bad
    case = open_case(client, priority="urgent")
    assert when(case["first_response_due_at"]) - when(case["created_at"]) == timedelta(seconds=60)


# -- inbound e-mail -------------------------------------------------------------------------

def mail(subject: str, body: str, sender: str = "maria@bodegas.es", message_id: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"María García <{sender}>"
    msg["To"] = "soporte@cadena.local"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@bodegas.es>"
    msg.set_content(body)
    return msg.as_bytes()


def inbound(client, raw: bytes, content_type: str = "message/rfc822", who=None):
    return client.post("/api/v1/cases/inbound-email", data=raw, content_type=content_type,
                       headers=who or headers("support"))


def test_inbound_email_opens_a_case_and_a_reply_becomes_a_comment(support):
    client = support.client
    first = mail("No puedo emitir facturas", "Desde ayer da error.", message_id="<m1@bodegas.es>")
    reply = inbound(client, first)
    assert reply.status_code == 201, reply.json
    case = reply.json
    assert (case["channel"], case["status"], case["contact_id"], case["account_id"]) == \
        ("email", "new", CONTACT, ACCOUNT)
    assert case["requester_email"] == "maria@bodegas.es" and case["comment"] is None
    assert case["description"] == "Desde ayer da error." and case["assignee_id"] is None
    again = inbound(client, first)  # the mail gateway retried
    assert again.status_code == 200 and again.json["id"] == case["id"]
    answer = mail(f"Re: {case['reference']} No puedo emitir facturas",
                  "Sigue igual.\n\nOn Mon, Soporte wrote:\n> ¿Nos envía una captura?")
    replied = inbound(client, answer)
    assert replied.status_code == 201 and replied.json["id"] == case["id"]
    comment = replied.json["comment"]
    assert (comment["body"], comment["public"], comment["author_type"]) == ("Sigue igual.", True, "customer")
    shown = client.get(f"/api/v1/cases/{case['id']}", headers=staff()).json
    assert shown["first_responded_at"] is None  # the customer is not the first response
    assert len(client.get("/api/v1/cases", headers=staff()).json["items"]) == 1
    assert len(client.get(f"/api/v1/cases/{case['id']}/comments", headers=staff()).json["items"]) == 1


def test_a_customer_reply_reopens_a_pending_or_resolved_case(support):
    client = support.client
    case = inbound(client, mail("Ayuda", "texto")).json
    for status in ("pending", "resolved"):
        client.patch(f"/api/v1/cases/{case['id']}", json={"status": status}, headers=headers("admin"))
        inbound(client, mail(f"Re: {case['reference']}", "más datos"))
        assert client.get(f"/api/v1/cases/{case['id']}", headers=staff()).json["status"] == "open"


def test_unknown_sender_strangers_and_closed_cases_open_new_cases(support):
    client = support.client
    case = inbound(client, mail("Ayuda", "texto")).json
    stranger = inbound(client, mail(f"Re: {case['reference']}", "hola", sender="who@else.example")).json
    assert stranger["id"] != case["id"] and stranger["comment"] is None
    assert stranger["contact_id"] is None and stranger["requester_email"] == "who@else.example"
    client.patch(f"/api/v1/cases/{case['id']}", json={"status": "closed"}, headers=headers("admin"))
    follow = inbound(client, mail(f"Re: {case['reference']}", "otra vez")).json
    assert follow["id"] != case["id"]
    assert follow["description"].startswith(f"Follow-up to the closed case #{case['number']}")
    missing = inbound(client, mail("Re: [#999] nada", "x")).json
    assert missing["comment"] is None and missing["number"] == 4


@pytest.mark.parametrize("raw,content_type,status", [
    (b"", "message/rfc822", 400),
    (b"\x00\x01\x02 garbage", "message/rfc822", 422),
    (b"From: nobody\r\n\r\nhi", "message/rfc822", 422),
    (b"From: a@b.example\r\nSubject: x\r\n\r\nhi", "application/json", 415),
])
def test_inbound_garbage_is_a_problem_not_a_500(support, raw, content_type, status):
    reply = inbound(support.client, raw, content_type)
    assert reply.status_code == status
    assert reply.content_type == "application/problem+json"


def test_inbound_needs_a_writer(support):
    assert inbound(support.client, mail("x", "y"), who=headers("readonly")).status_code == 403
    assert support.client.post("/api/v1/cases/inbound-email", data=mail("x", "y"),
                               content_type="message/rfc822").status_code == 401


# -- handover --------------------------------------------------------------------------------

def test_handover_moves_open_cases(support):
    client = support.client
    mine = [open_case(client) for _ in range(2)]
    client.patch(f"/api/v1/cases/{mine[1]['id']}", json={"status": "resolved"}, headers=staff())
    heir = str(uuid.uuid4())
    feed(support.db, "identity.user.handover_requested",
         {"handover_id": "h1", "from_user_id": SUPPORT, "to_user_id": heir})
    assert client.get(f"/api/v1/cases/{mine[0]['id']}", headers=staff()).json["assignee_id"] == heir
    assert client.get(f"/api/v1/cases/{mine[1]['id']}", headers=staff()).json["assignee_id"] == SUPPORT
    [done] = published(support.db, "support.handover.completed")
    assert done["data"] == {"handover_id": "h1", "service": "support", "moved": {"cases": 1}}


# -- the accounts view ------------------------------------------------------------------------

def test_case_events_keep_the_account_view(support, sqlite_build):
    from services.accounts import handlers as accounts_handlers
    from services.accounts.models import Account

    accounts = sqlite_build("accounts")
    with accounts.db.transaction() as uow:
        uow.session.add(Account(id=ACCOUNT, name="Bodegas", owner_id=str(uuid.uuid4()), tags=[]))
    client = support.client
    cases = [open_case(client) for _ in range(3)]
    client.patch(f"/api/v1/cases/{cases[0]['id']}", json={"status": "resolved"}, headers=staff())
    client.post(f"/api/v1/cases/{cases[0]['id']}/satisfaction", json={"score": 1}, headers=staff())
    client.delete(f"/api/v1/cases/{cases[2]['id']}", headers=staff())
    later = datetime.fromisoformat(cases[1]["first_response_due_at"]) + timedelta(seconds=1)
    sla.publish_breaches(support.db, now=later)
    for event in published(support.db):  # every case event, each delivered twice
        for _ in range(2):
            assert inbox.handle(accounts.db, "cadena.accounts.events", accounts_handlers.HANDLERS, event["type"],
                                events.encode(event)) == inbox.ACK
    view = accounts.client.get(f"/api/v1/accounts/{ACCOUNT}/view", headers=headers("readonly")).json
    assert (view["open_cases"], view["breached_cases"]) == (1, 1)
    # 100 - 5 (one open) - 15 (one breach) - 15 (one low rating) - 20 (no activity) = 45
    assert (view["health_score"], view["churn_risk"]) == (45, "medium")
    assert any("low satisfaction" in r for r in view["health_reasons"])


def test_a_case_number_beyond_what_a_bigint_holds_is_a_422(support):
    reply = support.client.get("/api/v1/cases?number=44912537205962704945152", headers=headers("admin"))
    assert reply.status_code == 422 and reply.mimetype == "application/problem+json"
    assert "number" in reply.get_json()["errors"]


def test_a_case_for_an_account_nobody_can_vouch_for_is_503_not_422(sqlite_build):
    # Nothing listens on port 1: the accounts service is down, not the account missing.
    built = sqlite_build("support", gateway_url="http://127.0.0.1:1", extra={"accounts_url": "http://127.0.0.1:1"})
    reply = built.client.post("/api/v1/cases", json={"subject": "x", "account_id": str(uuid.uuid4())}, headers=staff())
    assert reply.status_code == 503 and reply.headers["Retry-After"]
    assert reply.json["type"].endswith("/owner-unavailable") and "could not confirm" in reply.json["detail"]
    assert published(built.db) == []
