"""Search and duplicates end to end (CONTRACTS §9), through the gateway of a
system started as `cadena up` starts it: a change reaches the search within
5 s (polled with that deadline: a contract check, not a speed test), accents,
case, prefixes, e-mails, phones however typed, case numbers, deleted records
leaving, bad parameters; and the duplicate contacts and accounts."""
from __future__ import annotations

import time
import uuid
from urllib.parse import urlencode

import pytest

FRESHNESS = 5.0  # CONTRACTS §9: "A change is searchable within 5 s"


def search(system, q: str, **params) -> list[dict]:
    reply = system.get("/api/v1/search?" + urlencode({"q": q, **params}))
    assert reply.status == 200, reply.body
    return reply.json()["items"]


def found_within(system, q: str, ident: str, present: bool = True, deadline: float = FRESHNESS, **params) -> float:
    """Seconds until `ident` is (or is no longer) among the results; fails past the deadline."""
    began = time.monotonic()
    while True:
        ids = [item["id"] for item in search(system, q, **params)]
        if (ident in ids) == present:
            return time.monotonic() - began
        assert time.monotonic() - began < deadline, f"{q!r}: {ident} {'not found' if present else 'still found'}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def tag():
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def records(system, tag):
    """Created through the API; each must be searchable within the contract's 5 s of its creation."""
    account = system.post("/api/v1/accounts", {"name": f"Bodegas Valdeolmos{tag} S.A.", "city": "Haro",
                                               "country": "ES", "tax_id": f"A{tag}"}).json()
    contact = system.post("/api/v1/contacts", {
        "first_name": "José", "last_name": f"García{tag}", "email": f"pepe.{tag}@valdeolmos.example",
        "phone": f"+34 6{int(tag, 16) % 10**8:08d}", "account_id": account["id"]}).json()
    case = system.post("/api/v1/cases", {"subject": f"Impresora {tag}", "account_id": account["id"],
                                         "channel": "phone", "priority": "normal"}).json()
    return {"account": account, "contact": contact, "case": case}


def test_a_new_record_is_searchable_within_5_seconds(system, records, tag):
    found_within(system, f"valdeolmos{tag}", records["account"]["id"])
    found_within(system, f"garcia{tag}", records["contact"]["id"])
    found_within(system, f"impresora {tag}", records["case"]["id"])


def test_case_and_accent_insensitive_and_prefixes(system, records, tag):
    found_within(system, f"GARCÍA{tag}", records["contact"]["id"])
    found_within(system, f"jose garcia{tag[:4]}", records["contact"]["id"], types="contact")
    found_within(system, f"valdeolmos{tag[:5]}", records["account"]["id"])  # a prefix of the word
    hit = [i for i in search(system, f"garcia{tag}") if i["id"] == records["contact"]["id"]][0]
    assert hit["type"] == "contact" and hit["title"] == f"José García{tag}"
    assert f"Bodegas Valdeolmos{tag} S.A." in hit["subtitle"]


def test_contacts_by_email_and_by_phone_however_typed(system, records):
    contact = records["contact"]
    found_within(system, contact["email"], contact["id"], types="contact")
    digits = contact["phone"].replace("+34 ", "")
    spaced = f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    for typed in (digits, f"+34{digits}", f"0034 {spaced}", f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"):
        found_within(system, typed, contact["id"], types="contact")


def test_cases_by_number(system, records):
    number = records["case"]["number"]
    found_within(system, str(number), records["case"]["id"], types="case")
    found_within(system, f"#{number}", records["case"]["id"])


def test_a_change_and_a_delete_reach_the_search_within_5_seconds(system, tag):
    account = system.post("/api/v1/accounts", {"name": f"Talleres Asturias{tag}"}).json()
    found_within(system, f"asturias{tag}", account["id"])
    renamed = system.patch(f"/api/v1/accounts/{account['id']}", {"name": f"Talleres Cantábrico{tag}"})
    assert renamed.status == 200
    found_within(system, f"cantabrico{tag}", account["id"])
    found_within(system, f"asturias{tag}", account["id"], present=False)
    assert system.delete(f"/api/v1/accounts/{account['id']}").status == 204
    found_within(system, f"cantabrico{tag}", account["id"], present=False)


def test_a_typo_still_finds_the_record(system, records, tag):
    found_within(system, f"valdeolmso{tag}", records["account"]["id"])


@pytest.mark.parametrize("query", ["", "q=", "q=%20", "q=ana&types=planet", "q=ana&limit=0", "q=ana&limit=101"])
def test_bad_search_parameters_are_422_problems(system, query):
    reply = system.get(f"/api/v1/search?{query}")
    assert reply.status == 422 and reply.headers["Content-Type"].startswith("application/problem+json")
    assert reply.json()["errors"]


def test_every_role_may_search_and_strangers_may_not(system, records, tag):
    found_within(system, f"valdeolmos{tag}", records["account"]["id"])
    for role in ("readonly", "support"):
        user = system.make_user(role)
        reply = system.get(f"/api/v1/search?q=valdeolmos{tag}", token=user["token"])
        assert reply.status == 200 and reply.json()["items"]
    assert system.get("/api/v1/search?q=x", token=None).status == 401


def test_duplicate_contacts_through_the_gateway(system, tag):
    account = system.post("/api/v1/accounts", {"name": f"Duplicados{tag} S.L."}).json()
    phone = f"+34 7{int(tag, 16) % 10**8:08d}"
    a = system.post("/api/v1/contacts", {"first_name": "Lucía", "last_name": f"Pérez{tag}", "phone": phone,
                                         "email": f"lucia.{tag}@dup.example", "account_id": account["id"]}).json()
    b = system.post("/api/v1/contacts", {"first_name": "Lucia", "last_name": f"Perez{tag}",
                                         "phone": phone.replace("+34 ", "0034-"), "account_id": account["id"],
                                         "email": f"lucia.{tag}+crm@dup.example"}).json()
    groups = _all_pages(system, "/api/v1/contacts/duplicates")
    mine = [g for g in groups if set(g["ids"]) == {a["id"], b["id"]}]
    assert mine and mine[0]["reasons"] == ["same_email", "same_phone", "similar_name_same_account"]


def test_duplicate_accounts_through_the_gateway(system, tag):
    a = system.post("/api/v1/accounts", {"name": f"Conservas Bermeo{tag} S.A.", "tax_id": f"ES-B{tag}",
                                         "country": "ES", "website": f"https://www.bermeo{tag}.example/"}).json()
    b = system.post("/api/v1/accounts", {"name": f"CONSERVAS BERMEO{tag} SL", "tax_id": f"B{tag}", "country": "ES",
                                         "website": f"http://BERMEO{tag}.example"}).json()
    groups = _all_pages(system, "/api/v1/accounts/duplicates")
    mine = [g for g in groups if set(g["ids"]) == {a["id"], b["id"]}]
    assert mine and mine[0]["reasons"] == ["same_tax_id", "same_website_domain", "similar_name"]
    assert system.delete(f"/api/v1/accounts/{b['id']}").status == 204
    assert not [g for g in _all_pages(system, "/api/v1/accounts/duplicates") if b["id"] in g["ids"]]


def test_the_duplicates_path_is_not_read_as_an_id_and_bad_paging_is_422(system):
    assert system.get("/api/v1/contacts/duplicates?limit=0").status == 422
    assert system.get("/api/v1/accounts/duplicates?cursor=nonsense").status == 422
    assert system.get("/api/v1/contacts/duplicates", token=None).status == 401


def _all_pages(system, path: str) -> list[dict]:
    items, cursor = [], None
    while True:
        reply = system.get(path + "?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        assert reply.status == 200, reply.body
        items += reply.json()["items"]
        cursor = reply.json()["next_cursor"]
        if not cursor:
            return items
