"""Activities end to end, through the gateway of a system started as `cadena up`
starts it: create and complete, reminders, the agenda, the account view, and
the calendar feed fetched without a bearer token."""
from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import icalendar
import pytest

from tests.support.broker import Listener
from tests.support.wait import until


def iso(moment: datetime) -> str:
    return moment.isoformat()


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def fetch(url: str) -> tuple[int, str, bytes]:
    """A calendar app's request: no Authorization header at all."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@pytest.fixture
def listener(system):
    made = Listener(system.amqp_url, ["activities.#"])
    yield made
    made.delete()


@pytest.fixture
def rep(system):
    return system.make_user("rep", "Iberia")


@pytest.fixture
def customer(system, rep):
    """An account and a contact the rep made a moment ago (the activities replica may not have them yet)."""
    account = system.post("/api/v1/accounts", {"name": f"Bodegas Valdeolmos {uuid.uuid4().hex[:6]}", "country": "ES",
                                               "city": "Haro", "billing_address": {"street": "Calle Mayor 1",
                                                                                   "city": "Haro", "country": "ES"}},
                          token=rep["token"])
    assert account.status == 201, account.body
    contact = system.post("/api/v1/contacts", {"first_name": "Ana", "last_name": "García", "title": "Compras",
                                               "email": f"ana.{uuid.uuid4().hex[:8]}@valdeolmos.es",
                                               "account_id": account.json()["id"]}, token=rep["token"])
    assert contact.status == 201, contact.body
    return account.json(), contact.json()


def test_create_remind_complete_and_the_account_view(system, rep, customer, listener):
    account, contact = customer
    token = rep["token"]
    remind_at = now() + timedelta(seconds=2)
    met_at = now() - timedelta(hours=3)
    r = system.post("/api/v1/activities", {"type": "visit", "subject": "Visita a bodega", "contact_id": contact["id"],
                                           "starts_at": iso(met_at), "ends_at": iso(met_at + timedelta(hours=2)),
                                           "remind_at": iso(remind_at)}, token=token)
    assert r.status == 201, r.body
    visit = r.json()
    assert r.headers["Location"] == f"/api/v1/activities/{visit['id']}" and r.headers["ETag"] == '"1"'
    assert visit["status"] == "planned" and visit["owner_id"] == rep["id"]
    assert visit["account_id"] == account["id"]  # taken from the contact

    [reminder] = until(lambda: listener.of_type("activities.activity.reminder_due", visit["id"]), timeout=8)
    assert datetime.fromisoformat(reminder["time"]) - remind_at <= timedelta(seconds=5)
    assert reminder["data"]["owner_id"] == rep["id"] and reminder["data"]["subject"] == "Visita a bodega"
    assert reminder["source"] == "/cadena/activities" and reminder["dataversion"] == "1"

    done = system.post(f"/api/v1/activities/{visit['id']}/complete",
                       {"outcome": "Interesados en la gama crianza", "notes": "Acta: catamos tres añadas.",
                        "agreements": ["Enviar tarifa 2027", "Segunda visita en enero"]}, token=token)
    assert done.status == 200, done.body
    assert done.json()["status"] == "done" and done.json()["agreements"][0] == "Enviar tarifa 2027"
    assert system.post(f"/api/v1/activities/{visit['id']}/complete", {}, token=token).status == 409
    [completed] = until(lambda: listener.of_type("activities.activity.completed", visit["id"]), timeout=8)
    assert completed["data"]["notes"] == "Acta: catamos tres añadas."

    def last_activity():
        view = system.get(f"/api/v1/accounts/{account['id']}/view", token=token).json()
        return view["last_activity_at"] and datetime.fromisoformat(view["last_activity_at"]) == met_at

    until(last_activity, timeout=10)


def test_validation_and_permissions_through_the_gateway(system, rep, customer):
    account, _ = customer
    token = rep["token"]
    missing = system.post("/api/v1/activities", {"type": "call", "subject": "x", "starts_at": iso(now()),
                                                 "account_id": str(uuid.uuid4())}, token=token)
    assert missing.status == 422 and "account_id" in missing.json()["errors"]
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    # The opportunities service is not running in this system: the link cannot be verified.
    unverified = system.post("/api/v1/activities", {"type": "call", "subject": "x", "starts_at": iso(now()),
                                                    "opportunity_id": str(uuid.uuid4())}, token=token)
    assert unverified.status == 422 and "opportunity_id" in unverified.json()["errors"]
    bad_window = system.post("/api/v1/activities", {"type": "meeting", "starts_at": iso(now()),
                                                    "ends_at": iso(now() - timedelta(hours=1))}, token=token)
    assert bad_window.status == 422 and "ends_at" in bad_window.json()["errors"]

    other = system.make_user("rep", "Iberia")
    theirs = system.post("/api/v1/activities", {"type": "task", "subject": "ajeno", "due_at": iso(now()),
                                                "owner_id": other["id"]}, token=token)
    assert theirs.status == 403
    mine = system.post("/api/v1/activities", {"type": "task", "subject": "mío", "due_at": iso(now()),
                                              "account_id": account["id"]}, token=token).json()
    assert system.patch(f"/api/v1/activities/{mine['id']}", {"subject": "?"}, token=other["token"]).status == 403
    stale = system.patch(f"/api/v1/activities/{mine['id']}", {"subject": "nuevo"}, token=token,
                         headers={"If-Match": '"7"'})
    assert stale.status == 412
    assert system.get(f"/api/v1/activities/{mine['id']}", token=other["token"]).status == 200


def test_agenda_and_calendar_feed(system, rep, customer):
    account, contact = customer
    token = rep["token"]
    start = now().replace(hour=0, minute=0, second=0) + timedelta(days=1)

    def make(body):
        r = system.post("/api/v1/activities", {"account_id": account["id"], **body}, token=token)
        assert r.status == 201, r.body
        return r.json()

    overdue = make({"type": "task", "subject": "Preparar oferta", "due_at": iso(now() - timedelta(hours=1))})
    call = make({"type": "call", "subject": "Llamar a Ana", "contact_id": contact["id"],
                 "starts_at": iso(start + timedelta(hours=9))})
    visit = make({"type": "visit", "subject": "Visita", "starts_at": iso(start + timedelta(days=1, hours=10)),
                  "remind_at": iso(start + timedelta(days=1, hours=9))})
    task = make({"type": "task", "subject": "Enviar muestras", "due_at": iso(start + timedelta(hours=8))})
    done = make({"type": "meeting", "subject": "Reunión pasada", "starts_at": iso(now() - timedelta(hours=5))})
    assert system.post(f"/api/v1/activities/{done['id']}/complete", {"notes": "acta"}, token=token).status == 200

    window = quote(iso(now() - timedelta(days=1))), quote(iso(start + timedelta(days=6)))
    agenda = system.get(f"/api/v1/agenda?owner_id={rep['id']}&from={window[0]}&to={window[1]}", token=token)
    assert agenda.status == 200, agenda.body
    items = agenda.json()["items"]
    assert [i["id"] for i in items] == [done["id"], overdue["id"], task["id"], call["id"], visit["id"]]
    assert [i["overdue"] for i in items] == [False, True, False, False, False]

    assert system.get(f"/api/v1/users/{rep['id']}/calendar-token", token=system.make_user("rep", "Iberia")["token"]
                      ).status == 403
    reply = system.get(f"/api/v1/users/{rep['id']}/calendar-token", token=token)
    assert reply.status == 200, reply.body
    feed_token, url = reply.json()["token"], reply.json()["url"]
    assert url == f"{system.url}/api/v1/users/{rep['id']}/calendar.ics?token={feed_token}"

    status, content_type, body = fetch(url)
    assert status == 200 and content_type.startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(body)
    events = {str(e["uid"]).split("@")[0]: e for e in cal.walk("VEVENT")}
    assert set(events) == {overdue["id"], call["id"], visit["id"], task["id"]}  # planned ones only
    assert events[call["id"]].decoded("dtstart") == start + timedelta(hours=9)
    assert "Haro" in str(events[visit["id"]]["location"])
    assert events[visit["id"]].walk("VALARM")

    status, content_type, body = fetch(f"{system.url}/api/v1/users/{rep['id']}/calendar.ics?token=wrong")
    assert status == 404 and content_type.startswith("application/problem+json")

    rotated = system.post(f"/api/v1/users/{rep['id']}/calendar-token", token=token)
    assert rotated.status == 200 and rotated.json()["token"] != feed_token
    assert fetch(url)[0] == 404
    assert fetch(rotated.json()["url"])[0] == 200
    assert system.get(f"/api/v1/users/{rep['id']}/calendar-token", token="admin").json()["token"] == \
        rotated.json()["token"]


def test_the_public_api_document_lists_activities(system):
    spec = system.get("/api/v1/openapi.json", token=None).json()
    assert {"/api/v1/activities", "/api/v1/agenda", "/api/v1/users/{user_id}/calendar.ics"} <= set(spec["paths"])


def test_customer_360_and_handover_see_activities(system, customer):
    account, _ = customer
    leaving = system.make_user("rep", "Iberia")
    successor = system.make_user("rep", "Iberia")
    ahead = system.post("/api/v1/activities", {"type": "meeting", "subject": "Próxima reunión",
                                               "account_id": account["id"],
                                               "starts_at": iso(now() + timedelta(days=2))}, token=leaving["token"])
    past = system.post("/api/v1/activities", {"type": "call", "subject": "Llamada de ayer", "account_id": account["id"],
                                              "starts_at": iso(now() - timedelta(days=1))}, token=leaving["token"])
    assert ahead.status == 201 and past.status == 201
    system.post(f"/api/v1/activities/{past.json()['id']}/complete", {"outcome": "ok"}, token=leaving["token"])

    view = system.get(f"/api/v1/customers/{account['id']}/360").json()
    assert "activities" not in view["unavailable"]
    assert [a["id"] for a in view["activities"]["upcoming"]] == [ahead.json()["id"]]
    assert past.json()["id"] in [a["id"] for a in view["activities"]["recent"]]

    started = system.post(f"/api/v1/users/{leaving['id']}/handover", {"to_user_id": successor["id"]})
    assert started.status == 202, started.body
    handover_id = started.json()["handover_id"]

    def activities_done():
        part = system.get(f"/api/v1/handovers/{handover_id}").json()["services"]["activities"]
        return part["status"] == "done" and part

    assert until(activities_done, timeout=15)["moved"] == {"activities": 1}
    assert system.get(f"/api/v1/activities/{ahead.json()['id']}").json()["owner_id"] == successor["id"]
    assert system.get(f"/api/v1/activities/{past.json()['id']}").json()["owner_id"] == leaving["id"]  # done: stays
