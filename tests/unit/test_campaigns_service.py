"""Campaigns' use cases through its HTTP layer and its worker steps, on
SQLite (no broker): events are fed through the real inbox, mail goes to an
in-memory fake transport."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from shared import events, inbox
from shared.auth import upsert_user
from services.campaigns.handlers import HANDLERS
from services.campaigns.jobs import MailSettings, Sender
from services.campaigns.mailer import NotSent, Uncertain
from services.campaigns.models import Member
from tests.support.auth import headers

MARKETING = str(uuid.uuid4())


@pytest.fixture
def campaigns(sqlite_build):
    built = sqlite_build("campaigns")
    with built.db.transaction() as uow:
        upsert_user(uow.session, built.db, {"id": MARKETING, "email": "mk@x.test", "name": "Mk", "role": "marketing",
                                            "team": "Marketing", "active": True})
    return built


@pytest.fixture
def mk():
    return headers("marketing", MARKETING, "Marketing")


def feed(built, routing_key: str, data: dict, subject: str | None = None, time: datetime | None = None) -> str:
    event = events.new_event(source=routing_key.split(".")[0], type=routing_key, subject=subject, data=data)
    if time is not None:
        event["time"] = time.isoformat()
    return inbox.handle(built.db, "cadena.campaigns.events", HANDLERS, routing_key, events.encode(event))


def account(built, name="Bodegas Valdeolmos S.A.", industry="Alimentación y bebidas", country="ES", version=1,
            revenue="9200000.00", segment="relational", **extra) -> str:
    account_id = extra.pop("id", None) or str(uuid.uuid4())
    feed(built, "accounts.account.created" if version == 1 else "accounts.account.updated", {
        "id": account_id, "version": version, "name": name, "industry": industry, "country": country,
        "segment": segment, "region": extra.get("region"),
        "annual_revenue": {"amount": revenue, "currency": "EUR"} if revenue else None}, account_id)
    return account_id


def contact(built, account_id, first="María", stage="prospect", email=None, version=1, **extra) -> str:
    contact_id = extra.pop("id", None) or str(uuid.uuid4())
    feed(built, "accounts.contact.created" if version == 1 else "accounts.contact.updated", {
        "id": contact_id, "version": version, "account_id": account_id, "first_name": first, "last_name": "López",
        "email": email if email is not None else f"{first.lower()}.{contact_id[:6]}@example.test",
        "lifecycle_stage": stage, "interests": extra.get("interests", [])}, contact_id)
    return contact_id


def create(built, hdrs, **body):
    payload = {"name": "Vendimia 2026", "channel": "email", "budget": {"amount": "1000.00", "currency": "EUR"},
               "segment": {"industry": ["Alimentación y bebidas"], "country": ["ES"]}, **body}
    reply = built.client.post("/api/v1/campaigns", json=payload, headers=hdrs)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def members(built, campaign_id, hdrs, **query) -> list[dict]:
    reply = built.client.get(f"/api/v1/campaigns/{campaign_id}/members", query_string={"limit": 200, **query},
                             headers=hdrs)
    assert reply.status_code == 200
    return reply.get_json()["items"]


class FakeTransport:
    def __init__(self, failures: dict | None = None):
        self.sent = []
        self.failures = failures or {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def send(self, message, sender, recipient):
        failure = self.failures.get(recipient)
        if failure is not None:
            raise failure
        self.sent.append(message)


def sender(built, transport, **mail) -> Sender:
    return Sender(built.db, MailSettings(smtp_url="smtp://fake:25", **mail), transport=lambda: transport)


# -- campaigns ---------------------------------------------------------------------

def test_create_answers_201_with_location_etag_and_an_event(campaigns, mk):
    reply = campaigns.client.post("/api/v1/campaigns", json={
        "name": "Vendimia", "channel": "email", "budget": {"amount": "1500.50", "currency": "EUR"},
        "segment": {"country": ["es"], "annual_revenue_min": "1000000"},
        "templates": {"prospect": {"subject": "Hola {first_name}", "body": "Texto"}}}, headers=mk)
    assert reply.status_code == 201
    body = reply.get_json()
    assert reply.headers["Location"] == f"/api/v1/campaigns/{body['id']}" and reply.headers["ETag"] == '"1"'
    assert body["status"] == "draft" and body["owner_id"] == MARKETING
    assert body["budget"] == {"amount": "1500.50", "currency": "EUR"}
    assert body["segment"]["country"] == ["ES"]
    assert body["segment"]["annual_revenue_min"] == {"amount": "1000000.00", "currency": "EUR"}
    assert body["progress"] == {"total": 0, "sent": 0, "pending": 0, "failed": 0, "unknown": 0, "skipped": 0}
    with campaigns.db.sessions() as session:
        outbox = campaigns.db.tables.outbox
        assert session.scalars(select(outbox.c.routing_key)).all() == ["campaigns.campaign.created"]


@pytest.mark.parametrize("payload,field", [
    ({"name": "", "channel": "email"}, "name"),
    ({"name": "X", "channel": "fax"}, "channel"),
    ({"name": "X", "channel": "email", "budget": {"amount": 10.5, "currency": "EUR"}}, "budget.amount"),
    ({"name": "X", "channel": "email", "budget": {"amount": "-1", "currency": "EUR"}}, "budget.amount"),
    ({"name": "X", "channel": "email", "segment": {"lifecycle_stage": ["lead"]}}, "segment.lifecycle_stage.0"),
    ({"name": "X", "channel": "email", "segment": {"account_segment": ["vip"]}}, "segment.account_segment.0"),
    ({"name": "X", "channel": "email", "segment": {"country": ["Spain"]}}, "segment.country.0"),
    ({"name": "X", "channel": "email", "segment": {"colour": ["red"]}}, "segment.colour"),
    ({"name": "X", "channel": "email", "segment": {"annual_revenue_min": 1.5}}, "segment.annual_revenue_min"),
    ({"name": "X", "channel": "email", "segment": {"annual_revenue_min": "10", "annual_revenue_max": "5"}},
     "segment.annual_revenue_max"),
    ({"name": "X", "channel": "email", "templates": {"vip": {"subject": "a", "body": "b"}}}, "templates.vip.key"),
    ({"name": "X", "channel": "email", "templates": {"default": {"subject": "{first_name.__class__}", "body": "b"}}},
     "templates.default.value.subject"),
    ({"name": "X", "channel": "email", "templates": {"default": {"subject": "a\r\nBcc: x@y.z", "body": "b"}}},
     "templates.default.value.subject"),
    ({"name": "X", "channel": "email", "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-11-01T00:00:00Z"},
     "ends_at"),
    ({"name": "X", "channel": "email", "starts_at": "2026-12-01T00:00:00"}, "starts_at"),
    ({"name": "X", "channel": "email", "status": "active"}, "status"),
    ({"name": "X", "channel": "email", "budget": {"amount": "1", "currency": "EUR"},
      "actual_cost": {"amount": "1", "currency": "USD"}}, "actual_cost.currency"),
])
def test_invalid_campaigns_are_422_naming_the_field(campaigns, mk, payload, field):
    reply = campaigns.client.post("/api/v1/campaigns", json=payload, headers=mk)
    assert reply.status_code == 422, reply.get_json()
    assert reply.mimetype == "application/problem+json"
    assert field in reply.get_json()["errors"], reply.get_json()["errors"]


def test_permissions_marketing_and_managers_own_campaigns(campaigns, mk):
    for role in ("rep", "support", "readonly"):
        reply = campaigns.client.post("/api/v1/campaigns", json={"name": "X", "channel": "web"},
                                      headers=headers(role))
        assert reply.status_code == 403, role
    body = create(campaigns, mk)
    other = headers("marketing")
    assert campaigns.client.patch(f"/api/v1/campaigns/{body['id']}", json={"name": "Mine"},
                                  headers=other).status_code == 403
    assert campaigns.client.post(f"/api/v1/campaigns/{body['id']}/launch", headers=other).status_code == 403
    assert campaigns.client.get(f"/api/v1/campaigns/{body['id']}", headers=headers("readonly")).status_code == 200
    assert campaigns.client.patch(f"/api/v1/campaigns/{body['id']}", json={"name": "Admin's"},
                                  headers=headers("admin")).status_code == 200
    assert campaigns.client.post("/api/v1/campaigns", json={"name": "X", "channel": "web",
                                                            "owner_id": MARKETING},
                                 headers=headers("marketing")).status_code == 403


def test_patch_with_a_stale_etag_is_412_and_versions_move(campaigns, mk):
    body = create(campaigns, mk)
    path = f"/api/v1/campaigns/{body['id']}"
    first = campaigns.client.patch(path, json={"name": "Otoño"}, headers={**mk, "If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"' and first.get_json()["version"] == 2
    stale = campaigns.client.patch(path, json={"name": "Invierno"}, headers={**mk, "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"


def test_status_changes_by_patch_only_complete(campaigns, mk):
    body = create(campaigns, mk)
    path = f"/api/v1/campaigns/{body['id']}"
    assert campaigns.client.patch(path, json={"status": "active"}, headers=mk).status_code == 409
    done = campaigns.client.patch(path, json={"status": "completed"}, headers=mk)
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    assert campaigns.client.post(f"{path}/launch", headers=mk).status_code == 409
    assert campaigns.client.post(f"{path}/members/build", headers=mk).status_code == 409


def test_delete_is_soft_204_and_the_campaign_leaves_lists(campaigns, mk):
    body = create(campaigns, mk)
    assert campaigns.client.delete(f"/api/v1/campaigns/{body['id']}", headers=mk).status_code == 204
    assert campaigns.client.get(f"/api/v1/campaigns/{body['id']}", headers=mk).status_code == 404
    assert campaigns.client.get("/api/v1/campaigns", headers=mk).get_json()["items"] == []


def test_list_pages_with_keyset_cursor_and_filters(campaigns, mk):
    ids = [create(campaigns, mk, name=f"C{i}", channel="email" if i % 2 else "event")["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        page = campaigns.client.get("/api/v1/campaigns", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})},
                                    headers=mk).get_json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    events_only = campaigns.client.get("/api/v1/campaigns?channel=event", headers=mk).get_json()["items"]
    assert {c["id"] for c in events_only} == {ids[0], ids[2], ids[4]}
    assert campaigns.client.get("/api/v1/campaigns?limit=0", headers=mk).status_code == 422
    assert campaigns.client.get("/api/v1/campaigns?limit=201", headers=mk).status_code == 422
    assert campaigns.client.get("/api/v1/campaigns?cursor=nonsense", headers=mk).status_code == 422


def test_unknown_ids_are_404_and_garbage_json_is_400(campaigns, mk):
    missing = uuid.uuid4()
    for path in (f"/api/v1/campaigns/{missing}", f"/api/v1/campaigns/{missing}/roi",
                 f"/api/v1/campaigns/{missing}/members"):
        assert campaigns.client.get(path, headers=mk).status_code == 404
    reply = campaigns.client.post("/api/v1/campaigns", data="{nope", content_type="application/json", headers=mk)
    assert reply.status_code == 400 and reply.mimetype == "application/problem+json"
    assert campaigns.client.get("/api/v1/campaigns").status_code == 401


# -- replica and members -------------------------------------------------------------

def test_build_materialises_matching_contacts_and_is_idempotent(campaigns, mk):
    bodega = account(campaigns)
    mexican = account(campaigns, name="Café de Altura", country="MX")
    logistics = account(campaigns, name="Transportes", industry="Logística")
    wanted = {contact(campaigns, bodega, "Ana"), contact(campaigns, bodega, "Luis")}
    contact(campaigns, mexican, "Pedro")
    contact(campaigns, logistics, "Eva")
    contact(campaigns, None, "Sin cuenta")
    body = create(campaigns, mk)
    path = f"/api/v1/campaigns/{body['id']}/members"
    first = campaigns.client.post(f"{path}/build", headers=mk)
    assert first.status_code == 200
    assert first.get_json() == {"campaign_id": body["id"], "added": 2, "removed": 0, "kept": 0, "total": 2}
    again = campaigns.client.post(f"{path}/build", headers=mk).get_json()
    assert again == {"campaign_id": body["id"], "added": 0, "removed": 0, "kept": 2, "total": 2}
    listed = members(campaigns, body["id"], mk)
    assert {m["contact_id"] for m in listed} == wanted
    assert all(m["status"] == "targeted" and m["account_id"] == bodega for m in listed)
    one = campaigns.client.get(f"{path}/{listed[0]['contact_id']}", headers=mk)
    assert one.status_code == 200 and one.headers["ETag"] == '"1"'
    # The gateway's customer 360 asks which campaigns reached an account.
    for query, expected in ((f"account_id={bodega}", [body["id"]]), (f"account_id={mexican}", []),
                            (f"contact_id={listed[0]['contact_id']}", [body["id"]])):
        found = campaigns.client.get(f"/api/v1/campaigns?{query}&limit=50", headers=mk).get_json()["items"]
        assert [c["id"] for c in found] == expected


def test_the_member_set_follows_the_replica_but_keeps_who_took_part(campaigns, mk):
    bodega = account(campaigns)
    ana, luis = contact(campaigns, bodega, "Ana"), contact(campaigns, bodega, "Luis")
    body = create(campaigns, mk)
    path = f"/api/v1/campaigns/{body['id']}/members"
    campaigns.client.post(f"{path}/build", headers=mk)
    assert campaigns.client.patch(f"{path}/{ana}", json={"status": "responded"}, headers=mk).status_code == 200
    account(campaigns, id=bodega, industry="Logística", version=2)  # the account changes industry
    result = campaigns.client.post(f"{path}/build", headers=mk).get_json()
    assert result == {"campaign_id": body["id"], "added": 0, "removed": 1, "kept": 1, "total": 1}
    assert [(m["contact_id"], m["status"]) for m in members(campaigns, body["id"], mk)] == [(ana, "responded")]
    account(campaigns, id=bodega, industry="Alimentación y bebidas", version=3)
    account(campaigns, id=bodega, industry="Logística", version=2)  # a late, older event changes nothing
    assert campaigns.client.post(f"{path}/build", headers=mk).get_json()["added"] == 1
    assert {m["contact_id"] for m in members(campaigns, body["id"], mk)} == {ana, luis}


def test_lifecycle_changes_feed_the_segment_in_any_order(campaigns, mk):
    bodega = account(campaigns)
    ana = contact(campaigns, bodega, "Ana")
    body = create(campaigns, mk, segment={"lifecycle_stage": ["active_customer"]})
    path = f"/api/v1/campaigns/{body['id']}/members"
    now = datetime.now(timezone.utc)
    feed(campaigns, "accounts.contact.lifecycle_changed",
         {"contact_id": ana, "account_id": bodega, "from": "prospect", "to": "active_customer"}, ana, now)
    feed(campaigns, "accounts.contact.lifecycle_changed",  # older, delivered late
         {"contact_id": ana, "account_id": bodega, "from": "prospect", "to": "potential_customer"}, ana,
         now - timedelta(seconds=5))
    assert campaigns.client.post(f"{path}/build", headers=mk).get_json()["total"] == 1
    # A contact known only from a lifecycle event is not targeted until we know who it is.
    ghost = str(uuid.uuid4())
    feed(campaigns, "accounts.contact.lifecycle_changed",
         {"contact_id": ghost, "account_id": bodega, "from": "prospect", "to": "active_customer"}, ghost)
    assert campaigns.client.post(f"{path}/build", headers=mk).get_json()["total"] == 1
    feed(campaigns, "accounts.contact.deleted", {"id": ana, "account_id": bodega}, ana)
    assert campaigns.client.post(f"{path}/build", headers=mk).get_json()["total"] == 0


def test_a_redelivered_event_has_no_second_effect(campaigns):
    event = events.new_event(source="accounts", type="accounts.account.created", subject="a",
                             data={"id": "a", "version": 1, "name": "A", "country": "ES"})
    body = events.encode(event)
    assert inbox.handle(campaigns.db, "q", HANDLERS, event["type"], body) == inbox.ACK
    assert inbox.handle(campaigns.db, "q", HANDLERS, event["type"], body) == inbox.ACK
    bad = events.encode(events.new_event(source="accounts", type="accounts.contact.created", subject="x",
                                         data={"first_name": "no id"}))
    assert inbox.handle(campaigns.db, "q", HANDLERS, "accounts.contact.created", bad) == inbox.REJECT


def test_member_status_transitions_and_events(campaigns, mk):
    bodega = account(campaigns)
    ana, luis, eva = (contact(campaigns, bodega, n) for n in ("Ana", "Luis", "Eva"))
    body = create(campaigns, mk)
    path = f"/api/v1/campaigns/{body['id']}/members"
    campaigns.client.post(f"{path}/build", headers=mk)
    responded = campaigns.client.patch(f"{path}/{ana}", json={"status": "responded"}, headers=mk)
    assert responded.status_code == 200 and responded.get_json()["responded_at"]
    assert responded.headers["ETag"] == '"2"'
    first_response = responded.get_json()["responded_at"]
    converted = campaigns.client.patch(f"{path}/{ana}", json={"status": "converted"}, headers=mk).get_json()
    assert converted["responded_at"] == first_response and converted["converted_at"]
    assert campaigns.client.patch(f"{path}/{ana}", json={"status": "responded"}, headers=mk).status_code == 409
    assert campaigns.client.patch(f"{path}/{ana}", json={"status": "sent"}, headers=mk).status_code == 422
    # a conversion straight from targeted implies a response
    assert campaigns.client.patch(f"{path}/{luis}", json={"status": "converted"}, headers=mk).get_json()["responded_at"]
    assert campaigns.client.patch(f"{path}/{eva}", json={"status": "opted_out"}, headers=mk).status_code == 200
    assert campaigns.client.patch(f"{path}/{eva}", json={"status": "responded"}, headers=mk).status_code == 409
    assert campaigns.client.patch(f"{path}/{eva}", json={"status": "opted_out"}, headers=mk).status_code == 200
    assert campaigns.client.patch(f"{path}/{uuid.uuid4()}", json={"status": "responded"}, headers=mk).status_code == 404
    assert campaigns.client.patch(f"{path}/{luis}", json={"status": "opted_out"},
                                  headers={**mk, "If-Match": '"1"'}).status_code == 412
    with campaigns.db.sessions() as session:
        outbox = campaigns.db.tables.outbox
        keys = session.scalars(select(outbox.c.routing_key).order_by(outbox.c.id)).all()
    assert keys.count("campaigns.member.responded") == 2  # once per member, never again
    assert keys.count("campaigns.member.opted_out") == 1


# -- launch and sending ----------------------------------------------------------------

def launched(campaigns, mk, n=3, **campaign):
    bodega = account(campaigns)
    ids = [contact(campaigns, bodega, f"P{i}", stage="prospect") for i in range(n)]
    body = create(campaigns, mk, **campaign)
    path = f"/api/v1/campaigns/{body['id']}"
    campaigns.client.post(f"{path}/members/build", headers=mk)
    return body, path, ids


def test_launch_of_email_queues_members_and_twice_is_409(campaigns, mk):
    body, path, ids = launched(campaigns, mk)
    reply = campaigns.client.post(f"{path}/launch", headers=mk)
    assert reply.status_code == 202
    out = reply.get_json()
    assert out["status"] == "active" and out["launched_at"]
    assert out["progress"] == {"total": 3, "sent": 0, "pending": 3, "failed": 0, "unknown": 0, "skipped": 0}
    again = campaigns.client.post(f"{path}/launch", headers=mk)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    with campaigns.db.sessions() as session:
        outbox = campaigns.db.tables.outbox
        launches = session.scalars(select(outbox.c.body).where(outbox.c.routing_key == "campaigns.campaign.launched")).all()
    assert len(launches) == 1
    assert events.decode(launches[0])["data"]["member_count"] == 3


def test_launching_another_channel_only_activates(campaigns, mk):
    body, path, _ = launched(campaigns, mk, channel="event")
    reply = campaigns.client.post(f"{path}/launch", headers=mk)
    assert reply.status_code == 200 and reply.get_json()["status"] == "active"
    assert reply.get_json()["progress"]["total"] == 0
    transport = FakeTransport()
    assert sender(campaigns, transport).run_once() == 0 and transport.sent == []


def test_sender_sends_once_per_member_with_the_lifecycle_template(campaigns, mk):
    bodega = account(campaigns)
    prospect = contact(campaigns, bodega, "Ana", stage="prospect")
    customer = contact(campaigns, bodega, "Luis", stage="active_customer")
    silent = contact(campaigns, bodega, "Sin correo", email="")
    opted = contact(campaigns, bodega, "Eva")
    body = create(campaigns, mk, segment={}, templates={
        "prospect": {"subject": "Hola {first_name}", "body": "Conozca {campaign_name}, {account_name}"},
        "customer": {"subject": "Gracias {first_name}", "body": "Para clientes de {account_name}"}})
    path = f"/api/v1/campaigns/{body['id']}"
    campaigns.client.post(f"{path}/members/build", headers=mk)
    campaigns.client.patch(f"{path}/members/{opted}", json={"status": "opted_out"}, headers=mk)
    campaigns.client.post(f"{path}/launch", headers=mk)
    transport = FakeTransport()
    assert sender(campaigns, transport).run_once() == 2
    assert sender(campaigns, transport).run_once() == 0  # nothing is sent twice
    by_contact = {m["X-Cadena-Contact-Id"]: m for m in transport.sent}
    assert set(by_contact) == {prospect, customer}
    assert str(by_contact[prospect]["Subject"]) == "Hola Ana"
    assert "Bodegas Valdeolmos" in by_contact[prospect].get_body(("plain",)).get_content()
    assert str(by_contact[customer]["Subject"]) == "Gracias Luis"
    state = {m["contact_id"]: m for m in members(campaigns, body["id"], mk)}
    assert state[prospect]["status"] == "sent" and state[prospect]["delivery"] == "sent"
    assert state[prospect]["template"] == "prospect" and state[customer]["template"] == "customer"
    assert state[prospect]["message_id"] == f"<campaign-{body['id']}.{prospect}@cadena.local>"
    assert (state[silent]["delivery"], state[silent]["last_error"]) == ("skipped", "no e-mail address")
    assert (state[opted]["status"], state[opted]["delivery"]) == ("opted_out", "skipped")
    progress = campaigns.client.get(path, headers=mk).get_json()["progress"]
    assert progress == {"total": 4, "sent": 2, "pending": 0, "failed": 0, "unknown": 0, "skipped": 2}


def test_an_opt_out_holds_for_every_later_campaign(campaigns, mk):
    body, path, ids = launched(campaigns, mk, n=2)
    campaigns.client.patch(f"{path}/members/{ids[0]}", json={"status": "opted_out"}, headers=mk)
    other = create(campaigns, mk, name="Second")
    build = campaigns.client.post(f"/api/v1/campaigns/{other['id']}/members/build", headers=mk).get_json()
    assert build["total"] == 2
    statuses = {m["contact_id"]: m["status"] for m in members(campaigns, other["id"], mk)}
    assert statuses == {ids[0]: "opted_out", ids[1]: "targeted"}
    campaigns.client.post(f"/api/v1/campaigns/{other['id']}/launch", headers=mk)
    transport = FakeTransport()
    sender(campaigns, transport).run_once()
    assert [m["X-Cadena-Contact-Id"] for m in transport.sent] == [ids[1]]


def test_refused_mail_is_retried_later_or_failed_and_a_broken_handover_is_never_resent(campaigns, mk):
    body, path, ids = launched(campaigns, mk, n=3)
    campaigns.client.post(f"{path}/launch", headers=mk)
    emails = {m["contact_id"]: None for m in members(campaigns, body["id"], mk)}
    with campaigns.db.sessions() as session:
        from services.campaigns.models import ContactReplica
        emails = {c.id: c.email for c in session.scalars(select(ContactReplica))}
    transport = FakeTransport({
        emails[ids[0]]: NotSent("451 try later"),
        emails[ids[1]]: NotSent("550 no such user", permanent=True),
        emails[ids[2]]: Uncertain("connection reset during DATA"),
    })
    run = sender(campaigns, transport)
    while run.run_once() or run._has_work():
        pass  # a broken connection ends a batch; run until nothing is due
    state = {m["contact_id"]: m for m in members(campaigns, body["id"], mk)}
    assert state[ids[0]]["delivery"] == "pending" and "451" in state[ids[0]]["last_error"]  # waits to retry
    assert state[ids[1]]["delivery"] == "failed"
    assert state[ids[2]]["delivery"] == "unknown"
    # The retry comes once due: make it due now, and let the server take it.
    with campaigns.db.transaction() as uow:
        uow.session.execute(update(Member).values(next_attempt_at=None))
    healthy = FakeTransport()
    assert sender(campaigns, healthy).run_once() == 1
    assert [m["X-Cadena-Contact-Id"] for m in healthy.sent] == [ids[0]]
    progress = campaigns.client.get(path, headers=mk).get_json()["progress"]
    assert progress == {"total": 3, "sent": 1, "pending": 0, "failed": 1, "unknown": 1, "skipped": 0}


def test_a_lost_connection_ends_the_batch_and_the_member_waits_for_the_next_run(campaigns, mk):
    body, path, ids = launched(campaigns, mk, n=3)
    campaigns.client.post(f"{path}/launch", headers=mk)

    class Drops(FakeTransport):
        def send(self, message, sender, recipient):
            raise NotSent("connection lost before the message was sent", broken=True)

    assert sender(campaigns, Drops()).run_once() == 0
    deliveries = sorted((m["delivery"], m["last_error"] is not None) for m in members(campaigns, body["id"], mk))
    assert deliveries == [("pending", False), ("pending", False), ("pending", True)]  # one tried, two untouched


def test_transient_failures_give_up_after_max_attempts(campaigns, mk):
    body, path, ids = launched(campaigns, mk, n=1)
    campaigns.client.post(f"{path}/launch", headers=mk)
    with campaigns.db.sessions() as session:
        from services.campaigns.models import ContactReplica
        email = session.scalar(select(ContactReplica.email).where(ContactReplica.id == ids[0]))
    run = sender(campaigns, FakeTransport({email: NotSent("421 busy")}), max_attempts=2)
    for _ in range(2):
        run.run_once()
        with campaigns.db.transaction() as uow:
            uow.session.execute(update(Member).values(next_attempt_at=None))
    assert members(campaigns, body["id"], mk)[0]["delivery"] == "failed"


class Crash(BaseException):
    """The process dies: nothing after this line runs."""


class CrashAfterAccepting(FakeTransport):
    def send(self, message, sender, recipient):
        super().send(message, sender, recipient)
        raise Crash()


def test_a_claim_abandoned_by_a_dead_worker_is_never_resent(campaigns, mk):
    body, path, ids = launched(campaigns, mk, n=3)
    campaigns.client.post(f"{path}/launch", headers=mk)
    dying = CrashAfterAccepting()
    with pytest.raises(Crash):
        sender(campaigns, dying).run_once()
    assert len(dying.sent) == 1
    # A live worker (claim timeout not reached) leaves the claim alone...
    survivor = FakeTransport()
    assert sender(campaigns, survivor).run_once() == 2
    delivery = {m["contact_id"]: m["delivery"] for m in members(campaigns, body["id"], mk)}
    assert sorted(delivery.values()) == ["sending", "sent", "sent"]
    # ...and once it is old, it becomes unknown instead of being sent again.
    later = sender(campaigns, survivor, claim_timeout=0)
    assert later.run_once() == 0
    everyone = [m["X-Cadena-Contact-Id"] for m in dying.sent + survivor.sent]
    assert sorted(everyone) == sorted(ids)  # one message each, no duplicates
    progress = campaigns.client.get(path, headers=mk).get_json()["progress"]
    assert progress == {"total": 3, "sent": 2, "pending": 0, "failed": 0, "unknown": 1, "skipped": 0}


def test_members_added_after_launch_are_sent_and_completing_stops_sending(campaigns, mk):
    body, path, ids = launched(campaigns, mk, n=1)
    campaigns.client.post(f"{path}/launch", headers=mk)
    transport = FakeTransport()
    sender(campaigns, transport).run_once()
    bodega = account(campaigns, name="Conservas")
    newcomer = contact(campaigns, bodega, "Nuevo")
    assert campaigns.client.post(f"{path}/members/build", headers=mk).get_json()["added"] == 1
    campaigns.client.patch(path, json={"status": "completed"}, headers=mk)
    assert sender(campaigns, transport).run_once() == 0
    campaigns.client.patch(path, json={"status": "completed"}, headers=mk)
    with campaigns.db.sessions() as session:
        pending = session.scalar(select(func.count()).select_from(Member).where(Member.contact_id == newcomer,
                                                                               Member.delivery == "pending"))
    assert pending == 1 and len(transport.sent) == 1


# -- ROI -----------------------------------------------------------------------------

def won(built, opportunity_id, account_id, amount, won_at, currency="EUR", **extra):
    feed(built, "opportunities.opportunity.won", {
        "opportunity_id": opportunity_id, "account": {"id": account_id, "name": "X"},
        "amount": {"amount": amount, "currency": currency}, "won_at": won_at.isoformat(), **extra}, opportunity_id)


def test_roi_counts_deals_of_the_campaign_and_of_accounts_that_responded_first(campaigns, mk):
    bodega, other, late = account(campaigns), account(campaigns, name="Otra"), account(campaigns, name="Tarde")
    ana, eva = contact(campaigns, bodega, "Ana"), contact(campaigns, late, "Eva")
    contact(campaigns, other, "Luis")
    body = create(campaigns, mk, budget={"amount": "1000.00", "currency": "EUR"},
                  actual_cost={"amount": "1200.00", "currency": "EUR"})
    path = f"/api/v1/campaigns/{body['id']}"
    campaigns.client.post(f"{path}/members/build", headers=mk)
    now = datetime.now(timezone.utc)
    won(campaigns, "o-late", late, "777.00", now - timedelta(days=1))  # won before Eva responded
    campaigns.client.patch(f"{path}/members/{ana}", json={"status": "responded"}, headers=mk)
    campaigns.client.patch(f"{path}/members/{eva}", json={"status": "responded"}, headers=mk)
    won(campaigns, "o-ana", bodega, "2500.10", now + timedelta(minutes=1))
    # A deal created with the campaign, won elsewhere; learnt from created, then won.
    feed(campaigns, "opportunities.opportunity.created", {"id": "o-tagged", "account_id": other,
                                                          "campaign_id": body["id"], "stage": "prospecting",
                                                          "amount": {"amount": "100.00", "currency": "EUR"}}, "o-tagged")
    won(campaigns, "o-tagged", other, "199.95", now + timedelta(minutes=2))
    won(campaigns, "o-unrelated", other, "5000.00", now + timedelta(minutes=3))
    feed(campaigns, "opportunities.opportunity.lost", {"opportunity_id": "o-lost", "account_id": bodega}, "o-lost")
    roi = campaigns.client.get(f"{path}/roi", headers=mk).get_json()
    assert roi["cost"] == {"amount": "1200.00", "currency": "EUR"}  # actual cost before budget
    assert roi["influenced_revenue"] == {"amount": "2700.05", "currency": "EUR"}
    assert roi["won_deals"] == 2
    assert roi["roi"] == 1.2500  # (2700.05 - 1200) / 1200 = 1.250041… → 1.2500
    assert {(d["opportunity_id"], d["reason"]) for d in roi["deals"]} == {("o-ana", "response"),
                                                                          ("o-tagged", "campaign")}


def test_roi_without_cost_is_null_and_budget_is_the_fallback(campaigns, mk):
    free = create(campaigns, mk, budget=None)
    roi = campaigns.client.get(f"/api/v1/campaigns/{free['id']}/roi", headers=mk).get_json()
    assert roi == {"campaign_id": free["id"], "cost": {"amount": "0.00", "currency": "EUR"},
                   "influenced_revenue": {"amount": "0.00", "currency": "EUR"}, "won_deals": 0, "roi": None,
                   "deals": [], "other_currencies": []}
    paid = create(campaigns, mk, budget={"amount": "400.00", "currency": "EUR"})
    won(campaigns, "o1", "acc", "1000.00", datetime.now(timezone.utc), campaign_id=paid["id"])
    roi = campaigns.client.get(f"/api/v1/campaigns/{paid['id']}/roi", headers=mk).get_json()
    assert roi["cost"]["amount"] == "400.00" and roi["roi"] == 1.5


def test_handover_moves_open_campaigns_once(campaigns, mk):
    body = create(campaigns, mk)
    done = create(campaigns, mk, name="Old")
    campaigns.client.patch(f"/api/v1/campaigns/{done['id']}", json={"status": "completed"}, headers=mk)
    heir = str(uuid.uuid4())
    feed(campaigns, "identity.user.handover_requested",
         {"handover_id": "h1", "from_user_id": MARKETING, "to_user_id": heir}, MARKETING)
    assert campaigns.client.get(f"/api/v1/campaigns/{body['id']}", headers=mk).get_json()["owner_id"] == heir
    assert campaigns.client.get(f"/api/v1/campaigns/{done['id']}", headers=mk).get_json()["owner_id"] == MARKETING
    with campaigns.db.sessions() as session:
        outbox = campaigns.db.tables.outbox
        completed = session.scalars(select(outbox.c.body).where(
            outbox.c.routing_key == "campaigns.handover.completed")).all()
    assert [events.decode(b)["data"]["moved"] for b in completed] == [{"campaigns": 1}]


def test_openapi_lists_the_campaign_paths():
    from gateway.openapi import service_spec

    paths = service_spec("campaigns")["paths"]
    for path in ("/api/v1/campaigns", "/api/v1/campaigns/{campaign_id}", "/api/v1/campaigns/{campaign_id}/launch",
                 "/api/v1/campaigns/{campaign_id}/members/build", "/api/v1/campaigns/{campaign_id}/roi",
                 "/api/v1/campaigns/{campaign_id}/members/{contact_id}"):
        assert path in paths
