"""Duplicate contacts and accounts (CONTRACTS §9), on SQLite: each rule, the
blocks similar names are compared in, deleted records left out, paging."""
from __future__ import annotations

import pytest

from services.accounts.duplicates import similar_pairs
from tests.support.auth import headers


def make(built, admin, kind: str, **fields) -> str:
    reply = built.client.post(f"/api/v1/{kind}", json=fields, headers=admin)
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"]


def found(built, admin, kind: str, **params) -> dict:
    reply = built.client.get(f"/api/v1/{kind}/duplicates", query_string=params, headers=admin)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def reasons_by_ids(page: dict) -> dict[frozenset, list[str]]:
    return {frozenset(item["ids"]): item["reasons"] for item in page["items"]}


def test_contacts_with_the_same_mailbox_phone_or_a_similar_name_at_one_account(accounts, admin):
    acme = make(accounts, admin, "accounts", name="Acme S.L.")
    other = make(accounts, admin, "accounts", name="Otra S.A.")
    a = make(accounts, admin, "contacts", first_name="José", last_name="García", email="jose@acme.es",
             phone="+34 600 111 222", account_id=acme)
    b = make(accounts, admin, "contacts", first_name="Jose", last_name="Garcia", email="jose+crm@acme.es",
             phone="600 11 12 22", account_id=acme)
    c = make(accounts, admin, "contacts", first_name="Pepe", last_name="Ruiz", phone="0034-600-111-222")
    d = make(accounts, admin, "contacts", first_name="José", last_name="García", account_id=other)  # another company
    make(accounts, admin, "contacts", first_name="Ana", last_name="Gómez", account_id=acme)
    page = reasons_by_ids(found(accounts, admin, "contacts"))
    assert page == {frozenset({a, b}): ["same_email", "similar_name_same_account"],
                    frozenset({a, b, c}): ["same_phone"]}
    assert d not in set().union(*page)


def test_a_deleted_contact_is_no_duplicate(accounts, admin):
    a = make(accounts, admin, "contacts", first_name="Ana", last_name="López", phone="600 222 333")
    b = make(accounts, admin, "contacts", first_name="Ana", last_name="Lopez", phone="+34600222333")
    assert reasons_by_ids(found(accounts, admin, "contacts")) == {frozenset({a, b}): ["same_phone"]}
    assert accounts.client.delete(f"/api/v1/contacts/{b}", headers=admin).status_code == 204
    assert found(accounts, admin, "contacts")["items"] == []


def test_accounts_with_the_same_tax_id_domain_or_a_similar_name(accounts, admin):
    a = make(accounts, admin, "accounts", name="Bodegas Valdeolmos S.A.", tax_id="A26123987", country="ES",
             website="https://www.valdeolmos.es/contacto")
    b = make(accounts, admin, "accounts", name="BODEGAS VALDEOLMOS SL", tax_id="ES-A26123987", country="ES")
    c = make(accounts, admin, "accounts", name="Valdeolmos Distribución", website="http://VALDEOLMOS.ES")
    d = make(accounts, admin, "accounts", name="Bodegas Valdeolmoss", country="ES")  # a typo in the longest word
    make(accounts, admin, "accounts", name="Bodegas Aranda S.L.")
    page = reasons_by_ids(found(accounts, admin, "accounts"))
    assert page == {frozenset({a, b}): ["same_tax_id", "similar_name"], frozenset({a, c}): ["same_website_domain"],
                    frozenset({a, d}): ["similar_name"], frozenset({b, d}): ["similar_name"]}


def test_duplicates_page_with_a_keyset_cursor(accounts, admin):
    for i in range(5):
        for _ in range(2):
            make(accounts, admin, "accounts", name=f"Empresa {i}", tax_id=f"B1000000{i}")
    first = found(accounts, admin, "accounts", limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = found(accounts, admin, "accounts", limit=2, cursor=first["next_cursor"])
    third = found(accounts, admin, "accounts", limit=2, cursor=second["next_cursor"])
    assert third["next_cursor"] is None
    seen = [tuple(i["ids"]) for p in (first, second, third) for i in p["items"]]
    assert len(seen) == 5 and seen == sorted(seen)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"cursor": "nonsense"}])
def test_bad_paging_is_a_422_problem(accounts, admin, params):
    for kind in ("contacts", "accounts"):
        reply = accounts.client.get(f"/api/v1/{kind}/duplicates", query_string=params, headers=admin)
        assert reply.status_code == 422 and reply.content_type == "application/problem+json"


def test_any_role_may_ask_and_the_path_is_not_taken_for_an_id(accounts):
    for role in ("readonly", "support", "marketing"):
        assert accounts.client.get("/api/v1/contacts/duplicates", headers=headers(role)).status_code == 200
    assert accounts.client.get("/api/v1/contacts/duplicates").status_code == 401
    assert accounts.client.get("/api/v1/contacts/00000000-0000-4000-8000-000000000000",
                               headers=headers("admin")).status_code == 404


def test_similar_names_are_compared_inside_a_block_only():
    members = [("1", "jose garcia"), ("2", "garcia jose"), ("3", "jose garcya"), ("4", "ana gomez")]
    assert similar_pairs(members, 88) == {("1", "2"), ("1", "3"), ("2", "3")}
    crowded = [(str(i), f"name{i:05d} x") for i in range(1500)] + [("a", "zz top"), ("b", "zz topp")]
    assert ("a", "b") in similar_pairs(crowded, 90)  # split by first letters, the pair still meets
