"""Events that feed the search index, and the scenarios both engines must
pass (tests/unit/test_search_sqlite.py, tests/integration/test_search_pg.py)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone


def event(routing_key: str, data: dict, subject: str | None = None) -> dict:
    return {"id": str(uuid.uuid4()), "type": routing_key, "source": "/cadena/test",
            "time": datetime.now(timezone.utc).isoformat(), "subject": subject or data.get("id"), "data": data}


def new_id() -> str:
    return str(uuid.uuid4())


def account(name: str, version: int = 1, **fields) -> dict:
    return {"id": fields.pop("id", None) or new_id(), "version": version, "name": name, **fields}


def contact(first: str, last: str, version: int = 1, **fields) -> dict:
    return {"id": fields.pop("id", None) or new_id(), "version": version, "first_name": first, "last_name": last,
            **fields}


def feed(db, *events: dict) -> None:
    """Run the gateway's handler for each event, as its worker does."""
    from gateway.app import on_any_event

    with db.uow() as uow:
        for item in events:
            on_any_event(item, uow)
        uow.commit()


class Searcher:
    """GET /api/v1/search on an app, as an admin."""

    def __init__(self, built):
        self.client = built.client
        token = self.client.post("/api/v1/auth/token", json={"email": "admin@cadena.local", "password": "admin"})
        self.headers = {"Authorization": "Bearer " + token.get_json()["access_token"]}

    def raw(self, **params):
        return self.client.get("/api/v1/search", query_string=params, headers=self.headers)

    def __call__(self, q: str, **params) -> list[dict]:
        reply = self.raw(q=q, **params)
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()["items"]

    def ids(self, q: str, **params) -> list[str]:
        return [item["id"] for item in self(q, **params)]


# -- the scenarios ------------------------------------------------------------------------------------------

def world(db) -> dict:
    """Records of every kind, fed as events."""
    valdeolmos = account("Bodegas Valdeolmos S.A.", city="Haro", country="ES", industry="Alimentación y bebidas",
                         tax_id="A26123987", website="https://www.valdeolmos.es/")
    aranda = account("Construcciones Aranda S.L.", city="Burgos", country="ES")
    garcia = contact("José", "García", email="pepe@valdeolmos.es", phone="+34 600 111 222", nickname="Pepe",
                     title="Director General", account_id=valdeolmos["id"])
    munoz = contact("Ana", "Muñoz", email="ana.munoz@aranda.es", phone="947 123 456", account_id=aranda["id"])
    deal = {"id": new_id(), "version": 1, "name": "Renovación ERP Valdeolmos", "account_id": valdeolmos["id"],
            "stage": "proposal", "amount": {"amount": "12600.50", "currency": "EUR"}}
    case = {"id": new_id(), "version": 1, "number": 4821, "subject": "La impresora no imprime", "status": "open",
            "priority": "high", "account_id": aranda["id"]}
    call = {"id": new_id(), "version": 1, "type": "call", "subject": "Llamar a Pepe por la renovación",
            "status": "planned", "starts_at": "2026-11-20T10:00:00+00:00", "account_id": valdeolmos["id"]}
    feed(db, event("accounts.account.created", valdeolmos), event("accounts.account.created", aranda),
         event("accounts.contact.created", garcia), event("accounts.contact.created", munoz),
         event("opportunities.opportunity.created", deal), event("support.case.opened", case),
         event("activities.activity.created", call))
    return {"valdeolmos": valdeolmos, "aranda": aranda, "garcia": garcia, "munoz": munoz, "deal": deal,
            "case": case, "call": call}


def check_accents_and_case(search, w) -> None:
    assert w["garcia"]["id"] in search.ids("garcia")
    assert w["garcia"]["id"] in search.ids("GARCÍA")
    assert w["munoz"]["id"] in search.ids("munoz")
    assert search.ids("RENOVACION", types="opportunity") == [w["deal"]["id"]]


def check_prefixes(search, w) -> None:
    found = [i["id"] for i in search("valdeol")]
    assert {w["valdeolmos"]["id"], w["deal"]["id"], w["garcia"]["id"]} <= set(found)
    # in a title before in an e-mail; a title that starts with the text before all
    assert found.index(w["garcia"]["id"]) > max(found.index(w["valdeolmos"]["id"]), found.index(w["deal"]["id"]))
    assert search.ids("construcciones")[0] == w["aranda"]["id"]
    assert search("construcciones aranda sl")[0]["id"] == w["aranda"]["id"]
    assert search.ids("jose garc", types="contact") == [w["garcia"]["id"]]


def check_email_and_phone(search, w) -> None:
    assert search.ids("pepe@valdeolmos.es", types="contact") == [w["garcia"]["id"]]
    for typed in ("600111222", "+34 600 111 222", "0034 600-111-222", "600 11 12 22", "(+34) 600.111.222"):
        assert search.ids(typed, types="contact") == [w["garcia"]["id"]], typed
    assert search.ids("947123456") == [w["munoz"]["id"]]
    assert search.ids("+34 947 12 34 56") == [w["munoz"]["id"]]


def check_case_number(search, w) -> None:
    assert search.ids("4821")[0] == w["case"]["id"]
    assert search.ids("#4821")[0] == w["case"]["id"]


def check_typos(search, w) -> None:
    assert w["valdeolmos"]["id"] in search.ids("valdeolmso")
    assert w["garcia"]["id"] in search.ids("garsia")


def check_shape_and_subtitles(search, w) -> None:
    contact_hit = search("pepe", types="contact")[0]
    assert contact_hit == {"type": "contact", "id": w["garcia"]["id"], "title": "José García",
                           "subtitle": "Bodegas Valdeolmos S.A. · Director General · pepe@valdeolmos.es · "
                                       "+34 600 111 222"}
    case_hit = search("impresora")[0]
    assert case_hit["type"] == "case" and case_hit["title"] == "#4821 La impresora no imprime"
    assert search("renovacion", types="activity")[0]["id"] == w["call"]["id"]


def check_updates_deletes_and_late_events(db, search, w) -> None:
    renamed = {**w["aranda"], "version": 2, "name": "Aranda Obras Públicas S.L."}
    feed(db, event("accounts.account.updated", renamed))
    assert search.ids("obras", types="account") == [w["aranda"]["id"]]
    feed(db, event("accounts.account.updated", {**w["aranda"], "version": 1}))  # late, older: ignored
    assert search.ids("obras", types="account") == [w["aranda"]["id"]]
    feed(db, event("opportunities.opportunity.won", {"opportunity_id": w["deal"]["id"]}))
    assert "closed_won" in search("renovación erp", types="opportunity")[0]["subtitle"]
    feed(db, event("accounts.contact.deleted", {"id": w["munoz"]["id"], "account_id": w["aranda"]["id"]}))
    assert search.ids("munoz") == []
    feed(db, event("accounts.contact.updated", {**w["munoz"], "version": 9}))  # after the delete: stays gone
    assert search.ids("munoz") == []


def check_merged_records_leave(db, search, w) -> None:
    twin = contact("Jose", "Garcia", email="jgarcia@valdeolmos.es", account_id=w["valdeolmos"]["id"])
    feed(db, event("accounts.contact.created", twin))
    assert twin["id"] in search.ids("garcia", types="contact")
    feed(db, event("accounts.contact.merged", {"survivor_id": w["garcia"]["id"], "merged_ids": [twin["id"]]},
                   subject=w["garcia"]["id"]))
    assert search.ids("garcia", types="contact") == [w["garcia"]["id"]]


def check_bad_parameters(search) -> None:
    for params in ({"q": ""}, {"q": "   "}, {"q": "ana", "types": "account,planet"}, {"q": "ana", "limit": 0},
                   {"q": "ana", "limit": 101}, {"q": "x" * 201}, {"q": "!!!"}, {}):
        reply = search.raw(**params)
        assert reply.status_code == 422, params
        assert reply.content_type == "application/problem+json" and reply.get_json()["errors"], params


SCENARIOS = [check_accents_and_case, check_prefixes, check_email_and_phone, check_case_number, check_typos,
             check_shape_and_subtitles]
