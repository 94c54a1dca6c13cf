"""Duplicates on Postgres: the keys' GROUP BY and the migration that keys the records already there."""
from __future__ import annotations

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


def test_the_migration_keys_the_records_already_there(servers):
    url = servers.new_database()
    try:
        upgrade("accounts", url, "0003")
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
        upgrade("accounts", url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT tax_key, domain_key, name_key FROM accounts")).one() == \
                ("B12345678", "valdeolmos.es", "bodegas valdeolmos")
            assert conn.execute(text("SELECT email_key, phone_key, name_key FROM contacts")).one() == \
                ("jose@acme.es", "600111222", "jose garcia")
        engine.dispose()
    finally:
        servers.drop_database(url)
