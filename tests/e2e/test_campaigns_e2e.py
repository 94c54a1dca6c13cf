"""Campaigns end to end, through the gateway of a system started as `cadena
up` starts it (gateway, accounts, campaigns, the SMTP sink): accounts and
contacts reach the campaigns replica as events, a campaign is built and
launched, its mail lands in the sink's folder, a member responds and a won
deal (published as the opportunities service would) shows in the ROI."""
from __future__ import annotations

import email
import email.policy
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shared import events
from shared.bus import ConfirmingPublisher
from tests.support.broker import Listener
from tests.support.wait import until


def created(reply) -> dict:
    assert reply.status == 201, reply.body
    return reply.json()


def mail_in_sink(system, campaign_id: str) -> list[email.message.EmailMessage]:
    folder = Path(system.env["CADENA_VAR_DIR"]) / "mail"
    messages = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["X-Cadena-Campaign-Id"] == campaign_id:
            messages.append(message)
    return messages


def publish_won(amqp_url: str, opportunity_id: str, account_id: str, amount: str, won_at: datetime) -> None:
    data = {"opportunity_id": opportunity_id, "account": {"id": account_id, "name": "Bodegas", "tax_id": None,
                                                          "country": "ES", "billing_address": None},
            "primary_contact": None, "owner_id": str(uuid.uuid4()), "amount": {"amount": amount, "currency": "EUR"},
            "close_date": won_at.date().isoformat(), "won_at": won_at.isoformat(), "line_items": [],
            "currency": "EUR"}
    event = events.new_event(source="opportunities", type="opportunities.opportunity.won", subject=opportunity_id,
                             data=data)
    publisher = ConfirmingPublisher(amqp_url)
    try:
        assert publisher.publish_batch([(event["type"], events.encode(event), event["id"])]) == [True]
    finally:
        publisher.close()


def test_a_campaign_from_segment_to_mail_to_roi_through_the_gateway(system):
    listener = Listener(system.amqp_url, ["campaigns.#"])
    marketing = system.make_user("marketing", "Marketing")
    rep = system.make_user("rep", "Iberia")
    mk = marketing["token"]
    food = f"Alimentación y bebidas {uuid.uuid4().hex[:6]}"

    bodega = created(system.post("/api/v1/accounts", {
        "name": "Bodegas Valdeolmos S.A.", "industry": food, "country": "ES", "segment": "relational",
        "annual_revenue": {"amount": "9200000.00", "currency": "EUR"}}))
    elsewhere = created(system.post("/api/v1/accounts", {"name": "Aceros de Monterrey", "industry": "Metalurgia",
                                                         "country": "MX"}))
    people = {}
    for first, stage in (("María", "prospect"), ("José", "potential_customer"), ("Carmen", "active_customer")):
        people[first] = created(system.post("/api/v1/contacts", {
            "first_name": first, "last_name": "García", "account_id": bodega["id"], "lifecycle_stage": stage,
            "email": f"{uuid.uuid4().hex[:8]}@bodegas.example"}))["id"]
    no_mail = created(system.post("/api/v1/contacts", {"first_name": "Antonio", "account_id": bodega["id"]}))["id"]
    created(system.post("/api/v1/contacts", {"first_name": "Diego", "account_id": elsewhere["id"],
                                             "email": f"{uuid.uuid4().hex[:8]}@aceros.example"}))

    campaign_body = {
        "name": "Cata Digital", "channel": "email", "budget": {"amount": "1500.00", "currency": "EUR"},
        "segment": {"industry": [food], "country": ["ES"]},
        "templates": {"prospect": {"subject": "Hola {first_name}: {campaign_name}", "body": "Para {account_name}."},
                      "customer": {"subject": "Gracias {first_name}", "body": "Clientes de {account_name}."}}}
    assert system.post("/api/v1/campaigns", campaign_body, token=rep["token"]).status == 403
    reply = system.post("/api/v1/campaigns", campaign_body, token=mk)
    campaign = created(reply)
    cid = campaign["id"]
    assert reply.headers["Location"] == f"/api/v1/campaigns/{cid}" and campaign["status"] == "draft"
    assert campaign["owner_id"] == marketing["id"]

    # The replica fills from accounts' events: build until all four Bodegas contacts are in.
    def build():
        result = system.post(f"/api/v1/campaigns/{cid}/members/build", token=mk).json()
        return result if result["total"] == 4 else None
    until(build, 30, interval=0.3)
    again = system.post(f"/api/v1/campaigns/{cid}/members/build", token=mk).json()
    assert (again["added"], again["removed"], again["total"]) == (0, 0, 4)
    page = system.get(f"/api/v1/campaigns/{cid}/members?limit=2", token=mk).json()
    rest = system.get(f"/api/v1/campaigns/{cid}/members?limit=2&cursor={page['next_cursor']}", token=mk).json()
    assert {m["contact_id"] for m in page["items"] + rest["items"]} == {*people.values(), no_mail}
    assert rest["next_cursor"] is None

    launched = system.post(f"/api/v1/campaigns/{cid}/launch", token=mk)
    assert launched.status == 202 and launched.json()["status"] == "active"

    until(lambda: len(mail_in_sink(system, cid)) == 3, 30, interval=0.3)
    mails = {m["X-Cadena-Contact-Id"]: m for m in mail_in_sink(system, cid)}
    assert set(mails) == set(people.values())
    assert str(mails[people["María"]]["Subject"]) == "Hola María: Cata Digital"
    assert str(mails[people["José"]]["Subject"]) == "Hola José: Cata Digital"
    assert str(mails[people["Carmen"]]["Subject"]) == "Gracias Carmen"
    assert "Bodegas Valdeolmos" in mails[people["Carmen"]].get_body(("plain",)).get_content()
    until(lambda: system.get(f"/api/v1/campaigns/{cid}", token=mk).json()["progress"]["pending"] == 0, 15)
    progress = system.get(f"/api/v1/campaigns/{cid}", token=mk).json()["progress"]
    assert progress == {"total": 4, "sent": 3, "pending": 0, "failed": 0, "unknown": 0, "skipped": 1}
    assert system.post(f"/api/v1/campaigns/{cid}/launch", token=mk).status == 409
    assert len(mail_in_sink(system, cid)) == 3  # the refused retry sent nothing

    answer = system.patch(f"/api/v1/campaigns/{cid}/members/{people['María']}", {"status": "responded"}, token=mk)
    assert answer.status == 200 and answer.json()["responded_at"]
    responded = until(lambda: listener.of_type("campaigns.member.responded", cid), 15)
    assert responded[0]["data"] == {**responded[0]["data"], "campaign_id": cid, "contact_id": people["María"],
                                    "account_id": bodega["id"]}
    launch_events = listener.of_type("campaigns.campaign.launched", cid)
    assert [e["data"]["member_count"] for e in launch_events] == [4]

    publish_won(system.amqp_url, str(uuid.uuid4()), bodega["id"], "4500.75", datetime.now(timezone.utc) + timedelta(seconds=1))

    def roi():
        body = system.get(f"/api/v1/campaigns/{cid}/roi", token=mk).json()
        return body if body["won_deals"] == 1 else None
    body = until(roi, 20, interval=0.3)
    assert body["cost"] == {"amount": "1500.00", "currency": "EUR"}
    assert body["influenced_revenue"] == {"amount": "4500.75", "currency": "EUR"}
    assert body["roi"] == 2.0005  # (4500.75 - 1500) / 1500

    spec = system.get("/api/v1/openapi.json").json()
    assert "/api/v1/campaigns/{campaign_id}/roi" in spec["paths"]
    listener.delete()


def test_a_handover_passes_open_campaigns_to_the_successor(system):
    leaving = system.make_user("marketing", "Marketing")
    successor = system.make_user("marketing", "Marketing")
    open_one = created(system.post("/api/v1/campaigns", {"name": "Feria", "channel": "event"}, token=leaving["token"]))
    finished = created(system.post("/api/v1/campaigns", {"name": "Vieja", "channel": "web"}, token=leaving["token"]))
    assert system.patch(f"/api/v1/campaigns/{finished['id']}", {"status": "completed"},
                        token=leaving["token"]).status == 200
    reply = system.post(f"/api/v1/users/{leaving['id']}/handover", {"to_user_id": successor["id"]})
    assert reply.status == 202, reply.body
    handover_id = reply.json()["handover_id"]

    def campaigns_part():
        part = system.get(f"/api/v1/handovers/{handover_id}").json()["services"].get("campaigns", {})
        return part if part.get("status") == "done" else None
    assert until(campaigns_part, 30, interval=0.3)["moved"] == {"campaigns": 1}
    assert system.get(f"/api/v1/campaigns/{open_one['id']}").json()["owner_id"] == successor["id"]
    assert system.get(f"/api/v1/campaigns/{finished['id']}").json()["owner_id"] == leaving["id"]
