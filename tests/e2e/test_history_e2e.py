"""Field history through the gateway (CONTRACTS §10), with every process
running as `cadena up` runs them: for an account, a contact, a deal and a
case — created, changed by two different users, deleted — GET …/history
answers newest first with who did each and what changed; the events say the
same; and a traceparent sent with the request comes back and reaches them."""
from __future__ import annotations

import uuid

import pytest

from tests.support.broker import Listener
from tests.support.wait import until

TRACE_ID = "5c1bdb7f6a0e4e3c9b1f0d2a3e4f5a6b"


@pytest.fixture(scope="module")
def team(system):
    name = f"Historia-{uuid.uuid4().hex[:6]}"
    manager = system.make_user("manager", team=name)
    rep = system.make_user("rep", team=name, manager_id=manager["id"])
    agent = system.make_user("support", team=name, manager_id=manager["id"])
    account = system.post("/api/v1/accounts", {"name": f"Cliente {name}", "owner_id": rep["id"]},
                          token=rep["email"]).json()
    return {"manager": manager, "rep": rep, "agent": agent, "account": account}


def kinds(team) -> list[tuple]:
    """(path, body to create, first change, second change, who creates and changes first)."""
    rep, agent, account = team["rep"], team["agent"], team["account"]
    tag = uuid.uuid4().hex[:6]
    return [
        ("accounts", {"name": f"Bodegas {tag}", "city": "Haro", "owner_id": rep["id"]},
         {"city": "Logroño"}, {"annual_revenue": {"amount": "1200.50", "currency": "EUR"}}, rep),
        ("contacts", {"first_name": "Ana", "last_name": tag, "account_id": account["id"], "owner_id": rep["id"]},
         {"title": "Compras"}, {"phone": "+34 600 000 000"}, rep),
        ("opportunities", {"name": f"Renovación {tag}", "account_id": account["id"], "owner_id": rep["id"],
                           "amount": {"amount": "1000.00", "currency": "EUR"}},
         {"stage": "qualification"}, {"amount": {"amount": "2500.00", "currency": "EUR"}}, rep),
        ("cases", {"subject": f"No factura {tag}", "account_id": account["id"]},
         {"priority": "high"}, {"subject": f"No se generan facturas {tag}"}, agent),
    ]


@pytest.mark.parametrize("index", range(4), ids=["accounts", "contacts", "opportunities", "cases"])
def test_history_of_each_kind_is_newest_first_with_who_and_what(system, team, index):
    kind, body, first, second, author = kinds(team)[index]
    manager = team["manager"]
    service = {"accounts": "accounts", "contacts": "accounts", "opportunities": "opportunities", "cases": "support"}
    listener = Listener(system.amqp_url, [f"{service[kind]}.#"])
    created = system.post(f"/api/v1/{kind}", body, token=author["email"],
                          headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
    assert created.status == 201, created.body
    assert created.headers["traceparent"].split("-")[1] == TRACE_ID
    url = f"/api/v1/{kind}/{created.json()['id']}"
    assert system.patch(url, first, token=author["email"]).status == 200
    assert system.patch(url, second, token=manager["email"]).status == 200
    assert system.delete(url, token=manager["email"]).status == 204

    reply = system.get(url + "/history", token=team["rep"]["email"])
    assert reply.status == 200, reply.body
    items = reply.json()["items"]
    assert [i["actor_id"] for i in items] == [manager["id"], manager["id"], author["id"], author["id"]]
    assert [i["type"].rsplit(".", 1)[1] for i in items][::3] == ["deleted", "opened" if kind == "cases" else "created"]
    assert items[0]["changes"].keys() == {"deleted_at"}
    assert set(second) <= set(items[1]["changes"]) and set(first) <= set(items[2]["changes"])
    field, value = next(iter(second.items()))
    assert items[1]["changes"][field]["to"] == value
    assert items[1]["time"] >= items[2]["time"] >= items[3]["time"]

    def about_it() -> list[dict]:
        return [e for e in listener.drain() if e.get("subject") == created.json()["id"]]

    until(lambda: len(about_it()) >= 4, timeout=15)
    events = about_it()
    assert events[0]["traceparent"].split("-")[1] == TRACE_ID and events[0]["data"]["actor_id"] == author["id"]
    by_manager = [e for e in events if e["data"].get("actor_id") == manager["id"] and e["data"].get("changes")]
    assert by_manager[0]["data"]["changes"] == items[1]["changes"]
    listener.delete()


def test_history_of_an_unknown_record_is_404(system):
    for kind in ("accounts", "contacts", "opportunities", "cases"):
        assert system.get(f"/api/v1/{kind}/{uuid.uuid4()}/history").status == 404
