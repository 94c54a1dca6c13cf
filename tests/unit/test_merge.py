"""Merging accounts and contacts (CONTRACTS §9, "Merge"), in accounts on
SQLite: which values survive, what is refused and how, what moves with the
survivor in the same transaction, and the 308 for a merged id."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from shared.auth import upsert_user
from shared.http import Invalid
from tests.support.auth import headers

from services.accounts.merge import CONTACT_MERGEABLE, choose


ADMIN = headers("admin")


def events(built, routing_key: str | None = None) -> list[tuple[str, str, dict]]:
    outbox = built.db.tables.outbox
    with built.db.sessions() as session:
        rows = session.execute(select(outbox.c.routing_key, outbox.c.aggregate_id, outbox.c.body)
                               .order_by(outbox.c.id)).all()
    found = [(key, subject, json.loads(body)["data"]) for key, subject, body in rows]
    return [e for e in found if routing_key is None or e[0] == routing_key]


def post(built, path, body, who=ADMIN):
    return built.client.post(path, json=body, headers=who)


def contact(built, **fields):
    reply = post(built, "/api/v1/contacts", {"first_name": "Ana", **fields})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def account(built, **fields):
    reply = post(built, "/api/v1/accounts", {"name": "Bodegas", **fields})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


# -- choosing fields (no database) ------------------------------------------------------

def test_the_survivor_keeps_its_own_values_unless_a_field_names_a_merged_record():
    s, a, b = (str(uuid.uuid4()) for _ in range(3))
    assert choose(s, [a, b], {}, CONTACT_MERGEABLE) == {}
    assert choose(s, [a, b], {"email": a, "phone": s, "title": b}, CONTACT_MERGEABLE) == {"email": a, "title": b}


@pytest.mark.parametrize("merge_ids,fields,field", [
    ([], {}, "merge_ids"),
    (["A", "A"], {}, "merge_ids"),
    (["S"], {}, "merge_ids"),
    (["A"], {"colour": "A"}, "fields.colour"),
    (["A"], {"id": "A"}, "fields.id"),
    (["A"], {"email": "X"}, "fields.email"),
])
def test_a_bad_merge_request_is_refused_naming_the_field(merge_ids, fields, field):
    ids = {"S": str(uuid.uuid4()), "A": str(uuid.uuid4()), "X": str(uuid.uuid4())}
    with pytest.raises(Invalid) as refused:
        choose(ids["S"], [ids[i] for i in merge_ids], {k: ids[v] for k, v in fields.items()}, CONTACT_MERGEABLE)
    assert field in refused.value.errors


# -- contacts -----------------------------------------------------------------------------

def test_merging_contacts_keeps_chosen_fields_and_answers_the_survivor(accounts):
    survivor = contact(accounts, last_name="García", email="ana@bodegas.es", phone="+34 600 000 001")
    twin = contact(accounts, last_name="Garcia López", email="ana.garcia@bodegas.es", title="Compras",
                   interests=["vino"])
    reply = post(accounts, f"/api/v1/contacts/{survivor['id']}/merge",
                 {"merge_ids": [twin["id"]], "fields": {"email": twin["id"], "title": twin["id"],
                                                         "phone": survivor["id"]}})
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["id"] == survivor["id"]
    assert (body["email"], body["title"], body["phone"], body["last_name"]) == (
        "ana.garcia@bodegas.es", "Compras", "+34 600 000 001", "García")
    assert body["interests"] == [] and body["version"] == survivor["version"] + 1
    assert reply.headers["ETag"] == f'"{body["version"]}"'
    merged = events(accounts, "accounts.contact.merged")
    assert [(s, d["survivor_id"], d["merged_ids"], d["fields"]) for _, s, d in merged] == [
        (survivor["id"], survivor["id"], [twin["id"]], {"email": twin["id"], "title": twin["id"]})]
    assert [s for _, s, _ in events(accounts, "accounts.contact.updated")] == [survivor["id"]]


def test_a_merged_contact_answers_308_to_the_survivor_and_leaves_lists(accounts):
    survivor, twin = contact(accounts, email="a@x.es"), contact(accounts, email="b@x.es")
    post(accounts, f"/api/v1/contacts/{survivor['id']}/merge", {"merge_ids": [twin["id"]]})
    moved = accounts.client.get(f"/api/v1/contacts/{twin['id']}", headers=ADMIN)
    assert moved.status_code == 308
    assert moved.headers["Location"] == f"/api/v1/contacts/{survivor['id']}"
    assert moved.get_json()["survivor_id"] == survivor["id"]
    listed = accounts.client.get("/api/v1/contacts", headers=ADMIN).get_json()["items"]
    assert [c["id"] for c in listed] == [survivor["id"]]
    # Nothing is deleted, and a write to the merged record is refused, not redirected.
    patch = accounts.client.patch(f"/api/v1/contacts/{twin['id']}", json={"title": "X"}, headers=ADMIN)
    assert patch.status_code == 409 and patch.get_json()["survivor_id"] == survivor["id"]
    assert accounts.client.delete(f"/api/v1/contacts/{twin['id']}", headers=ADMIN).status_code == 409


def test_refusals_name_what_is_wrong_and_change_nothing(accounts):
    survivor, twin, gone = contact(accounts, email="s@x.es"), contact(accounts, email="t@x.es"), contact(accounts)
    accounts.client.delete(f"/api/v1/contacts/{gone['id']}", headers=ADMIN)
    before = len(events(accounts))
    path = f"/api/v1/contacts/{survivor['id']}/merge"
    assert post(accounts, path, {"merge_ids": [gone["id"]]}).status_code == 422
    assert post(accounts, path, {"merge_ids": [str(uuid.uuid4())]}).get_json()["errors"]["merge_ids"]
    assert post(accounts, path, {"merge_ids": [survivor["id"]]}).status_code == 422
    assert post(accounts, path, {"merge_ids": [twin["id"]], "fields": {"email": gone["id"]}}).status_code == 422
    assert post(accounts, path, {"merge_ids": [twin["id"]], "fields": {"version": twin["id"]}}).status_code == 422
    assert post(accounts, path, {"merge_ids": "nope"}).status_code == 422
    assert post(accounts, f"/api/v1/contacts/{uuid.uuid4()}/merge", {"merge_ids": [twin["id"]]}).status_code == 404
    stale = accounts.client.post(path, json={"merge_ids": [twin["id"]]}, headers={**ADMIN, "If-Match": '"99"'})
    assert stale.status_code == 412
    assert len(events(accounts)) == before
    assert post(accounts, path, {"merge_ids": [twin["id"]]}).status_code == 200
    again = post(accounts, path, {"merge_ids": [twin["id"]]})
    assert again.status_code == 409 and twin["id"] in again.get_json()["detail"]
    into_merged = post(accounts, f"/api/v1/contacts/{twin['id']}/merge", {"merge_ids": [gone["id"]]})
    assert into_merged.status_code == 422  # the deleted one is named first (422 before 409)
    other = contact(accounts, email="o@x.es")
    assert post(accounts, f"/api/v1/contacts/{twin['id']}/merge", {"merge_ids": [other["id"]]}).status_code == 409


def test_a_rep_may_merge_only_records_it_may_change(accounts):
    rep, other = str(uuid.uuid4()), str(uuid.uuid4())
    for user in (rep, other):
        with accounts.db.transaction() as uow:
            upsert_user(uow.session, accounts.db, {"id": user, "email": f"{user}@x.es", "name": "U", "role": "rep",
                                                   "team": "Norte", "active": True})
    mine = post(accounts, "/api/v1/contacts", {"first_name": "Mía", "owner_id": rep}).get_json()
    theirs = post(accounts, "/api/v1/contacts", {"first_name": "Suya", "owner_id": other}).get_json()
    reply = post(accounts, f"/api/v1/contacts/{mine['id']}/merge", {"merge_ids": [theirs["id"]]},
                 headers("rep", rep, "Norte"))
    assert reply.status_code == 403
    assert post(accounts, f"/api/v1/contacts/{mine['id']}/merge", {"merge_ids": [theirs["id"]]},
                headers("readonly")).status_code == 403
    assert accounts.client.get(f"/api/v1/contacts/{theirs['id']}", headers=ADMIN).status_code == 200


def test_reports_of_a_merged_contact_report_to_the_survivor(accounts):
    firm = account(accounts)
    boss = contact(accounts, last_name="Jefa", account_id=firm["id"])
    twin = contact(accounts, last_name="Jefa bis", account_id=firm["id"], reports_to_id=boss["id"])
    report = contact(accounts, last_name="Ayudante", account_id=firm["id"], reports_to_id=twin["id"])
    # The survivor would report to the record merged into it: that line ends.
    reply = post(accounts, f"/api/v1/contacts/{boss['id']}/merge",
                 {"merge_ids": [twin["id"]], "fields": {"reports_to_id": twin["id"]}})
    assert reply.status_code == 200 and reply.get_json()["reports_to_id"] is None
    assert accounts.client.get(f"/api/v1/contacts/{report['id']}", headers=ADMIN).get_json()["reports_to_id"] \
        == boss["id"]
    chart = accounts.client.get(f"/api/v1/accounts/{firm['id']}/org-chart", headers=ADMIN).get_json()
    assert [(n["id"], [r["id"] for r in n["reports"]]) for n in chart["roots"]] == [(boss["id"], [report["id"]])]
    assert report["id"] in [s for _, s, _ in events(accounts, "accounts.contact.updated")]


def test_a_contact_merged_twice_points_straight_to_the_last_survivor(accounts):
    first, second, third = contact(accounts), contact(accounts), contact(accounts)
    post(accounts, f"/api/v1/contacts/{second['id']}/merge", {"merge_ids": [first["id"]]})
    post(accounts, f"/api/v1/contacts/{third['id']}/merge", {"merge_ids": [second["id"]]})
    moved = accounts.client.get(f"/api/v1/contacts/{first['id']}", headers=ADMIN)
    assert moved.headers["Location"] == f"/api/v1/contacts/{third['id']}"


# -- accounts -----------------------------------------------------------------------------

def test_merging_accounts_moves_their_contacts_and_children_to_the_survivor(accounts):
    survivor = account(accounts, name="Bodegas Valdeolmos", tax_id=None)
    twin = account(accounts, name="Bodegas Valdeolmos S.A.", tax_id="A12345678",
                   annual_revenue={"amount": "9200000.00", "currency": "EUR"})
    worker = contact(accounts, account_id=twin["id"])
    child = account(accounts, name="Valdeolmos Rioja", parent_account_id=twin["id"])
    reply = post(accounts, f"/api/v1/accounts/{survivor['id']}/merge",
                 {"merge_ids": [twin["id"]], "fields": {"tax_id": twin["id"], "annual_revenue": twin["id"]}})
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert (body["name"], body["tax_id"], body["annual_revenue"]) == (
        "Bodegas Valdeolmos", "A12345678", {"amount": "9200000.00", "currency": "EUR"})
    get = accounts.client.get
    assert get(f"/api/v1/contacts/{worker['id']}", headers=ADMIN).get_json()["account_id"] == survivor["id"]
    assert get(f"/api/v1/accounts/{child['id']}", headers=ADMIN).get_json()["parent_account_id"] == survivor["id"]
    for path in ("", "/contacts?limit=5", "/view"):
        moved = get(f"/api/v1/accounts/{twin['id']}{path}", headers=ADMIN)
        assert moved.status_code == 308 and moved.headers["Location"] == f"/api/v1/accounts/{survivor['id']}{path}"
    assert [a["id"] for a in get("/api/v1/accounts?limit=50", headers=ADMIN).get_json()["items"]] == [
        survivor["id"], child["id"]]
    keys = [(k, s) for k, s, _ in events(accounts) if k.endswith((".updated", ".merged"))]
    assert keys == [("accounts.contact.updated", worker["id"]), ("accounts.account.updated", child["id"]),
                    ("accounts.account.updated", survivor["id"]), ("accounts.account.merged", survivor["id"])]


def test_a_survivor_whose_parent_is_merged_into_it_loses_the_parent(accounts):
    parent = account(accounts, name="Grupo")
    survivor = account(accounts, name="Filial", parent_account_id=parent["id"])
    reply = post(accounts, f"/api/v1/accounts/{survivor['id']}/merge", {"merge_ids": [parent["id"]]})
    assert reply.status_code == 200 and reply.get_json()["parent_account_id"] is None


def test_the_account_view_counts_the_merged_accounts_deals_and_cases(accounts):
    from tests.support.fakes import FakeUnitOfWork, event
    from services.accounts.handlers import HANDLERS

    survivor, twin = account(accounts, name="Uno"), account(accounts, name="Dos")
    deal = {"id": str(uuid.uuid4()), "account_id": twin["id"], "stage": "proposal", "version": 1,
            "amount": {"amount": "1000.00", "currency": "EUR"}}
    case = {"id": str(uuid.uuid4()), "account_id": twin["id"], "status": "open", "version": 1}
    with FakeUnitOfWork(accounts.db) as uow:
        HANDLERS["opportunities.opportunity.created"](event("opportunities.opportunity.created", deal), uow)
        HANDLERS["support.case.opened"](event("support.case.opened", case), uow)
        uow.keep()
    post(accounts, f"/api/v1/accounts/{survivor['id']}/merge", {"merge_ids": [twin["id"]]})
    view = accounts.client.get(f"/api/v1/accounts/{survivor['id']}/view", headers=ADMIN).get_json()
    assert (view["open_pipeline"]["amount"], view["open_cases"]) == ("1000.00", 1)
    # A late event about the merged account counts for the survivor, not against it.
    with FakeUnitOfWork(accounts.db) as uow:
        HANDLERS["opportunities.opportunity.updated"](event("opportunities.opportunity.updated", {
            **deal, "version": 2, "amount": {"amount": "1500.00", "currency": "EUR"}}), uow)
        uow.keep()
    view = accounts.client.get(f"/api/v1/accounts/{survivor['id']}/view", headers=ADMIN).get_json()
    assert view["open_pipeline"]["amount"] == "1500.00"
