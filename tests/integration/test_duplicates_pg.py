"""Duplicates on Postgres: the keys' GROUP BY and the migration that keys the records already there."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from shared.migrations import upgrade
from tests.support.auth import headers
from tests.unit.test_duplicates import found, make, reasons_by_ids


def test_duplicate_contacts_and_accounts_on_postgres(build):
    accounts = build("accounts")
    admin = headers("admin")
    acme = make(accounts, admin, "accounts", name="Acme Ibérica S.L.", website="http://acme.es", tax_id="B11111111")
    copy = make(accounts, admin, "accounts", name="ACME IBERICA SA", website="https://www.acme.es/")
    a = make(accounts, admin, "contacts", first_name="Lucía", last_name="Pérez", phone="+34 911 222 333",
             account_id=acme)
    b = make(accounts, admin, "contacts", first_name="Lucia", last_name="Perez", phone="911222333", account_id=acme)
    assert reasons_by_ids(found(accounts, admin, "contacts")) == {
        frozenset({a, b}): ["same_phone", "similar_name_same_account"]}
    assert reasons_by_ids(found(accounts, admin, "accounts")) == {
        frozenset({acme, copy}): ["same_website_domain", "similar_name"]}


@pytest.mark.parametrize("revision", ["0003", "0009"])
def test_migrations_key_the_records_already_there(servers, revision):
    """0007 keys the records written before there were keys; 0010 those an
    import wrote without them, and leaves a record that has keys alone."""
    url = servers.new_database()
    try:
        upgrade("accounts", url, revision)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO accounts (id, version, created_at, updated_at, name, owner_id, tags, website, tax_id, country) "
                "VALUES ('a1', 1, now(), now(), 'Bodegas Valdeolmos, S.L.', 'u1', '[]', 'www.valdeolmos.es/x', "
                "'ES-B12345678', 'ES')"))
            conn.execute(text(
                "INSERT INTO contacts (id, version, created_at, updated_at, first_name, last_name, email, phone, "
                "owner_id, lifecycle_stage, interests) VALUES ('c1', 1, now(), now(), 'José', 'García', "
                "'Jose+x@Acme.es', '+34 600 111 222', 'u1', 'prospect', '[]')"))
            if revision == "0009":
                conn.execute(text(
                    "INSERT INTO contacts (id, version, created_at, updated_at, first_name, email, owner_id, "
                    "lifecycle_stage, interests, name_key) VALUES ('c2', 1, now(), now(), 'Ana', 'ana@acme.es', 'u1', "
                    "'prospect', '[]', 'kept as it was')"))
        upgrade("accounts", url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT tax_key, domain_key, name_key FROM accounts")).one() == \
                ("B12345678", "valdeolmos.es", "bodegas valdeolmos")
            keyed = conn.execute(text("SELECT id, email_key, phone_key, name_key FROM contacts ORDER BY id")).all()
        assert keyed == [("c1", "jose@acme.es", "600111222", "jose garcia")] + (
            [("c2", None, None, "kept as it was")] if revision == "0009" else [])
        engine.dispose()
    finally:
        servers.drop_database(url)


def test_imported_records_are_keyed_and_found_as_duplicates(build):
    """An import writes its rows with a bulk INSERT, not the ORM: its records get
    the same comparison keys, so a duplicate that arrives by file is found."""
    from services.accounts.imports import REGISTRY
    from shared.imports import run_pending

    accounts = build("accounts")
    admin = headers("admin")
    acme = make(accounts, admin, "accounts", name="Acme Ibérica S.L.", website="http://acme.es", tax_id="B11111111")
    lucia = make(accounts, admin, "contacts", first_name="Lucía", last_name="Pérez", phone="+34 911 222 333",
                 email="lucia@acme.es")
    for kind, body in (("accounts", "name,website,tax_id,country\n"
                                    "ACME IBERICA SA,https://www.acme.es/,ES-B11111111,ES\n"),
                       ("contacts", "first_name,last_name,phone,email\nLucia,Perez,911222333,Lucia+crm@ACME.es\n")):
        reply = accounts.client.post(f"/api/v1/imports?kind={kind}", data=body.encode(),
                                     headers={**admin, "Content-Type": "text/csv"})
        assert reply.status_code == 202, reply.get_json()
    run_pending(accounts.db, REGISTRY.tables, REGISTRY.kinds, "EUR")
    contacts = reasons_by_ids(found(accounts, admin, "contacts"))
    assert [(lucia in pair, reasons) for pair, reasons in contacts.items()] == [
        (True, ["same_email", "same_phone"])]
    companies = reasons_by_ids(found(accounts, admin, "accounts"))
    assert [(acme in pair, reasons) for pair, reasons in companies.items()] == [
        (True, ["same_tax_id", "same_website_domain", "similar_name"])]
