"""shared.bulk_insert on the real Postgres: COPY, its savepoint and the
row-by-row fallback when a unique index refuses a row, and the outbox
trigger's NOTIFY for events written that way."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from shared.bulk_insert import insert_rows
from shared.db import notify_channel


@pytest.fixture
def accounts(build):
    return build("accounts")


def contact(email: str | None, **more) -> dict:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
    return {"id": str(uuid.uuid4()), "first_name": "Ana", "email": email, "owner_id": "u1",
            "lifecycle_stage": "prospect",
            "interests": ["vino", "queso"], "version": 1, "created_at": now, "updated_at": now, **more}


def live_emails(built) -> list[str]:
    contacts = built.db.metadata.tables["contacts"]
    with built.db.sessions() as session:
        return sorted(session.scalars(select(contacts.c.email).where(contacts.c.deleted_at.is_(None))))


def test_rows_go_in_with_their_json_and_times(accounts):
    rows = [contact(f"ana{i}@uno.es", notes=None if i else "ñandú «comillas»\ttab\nline \\ back") for i in range(3)]
    with accounts.db.transaction() as uow:
        assert insert_rows(uow.session, accounts.db.metadata.tables["contacts"], rows) == 3
    contacts = accounts.db.metadata.tables["contacts"]
    with accounts.db.sessions() as session:
        kept = {r.id: r for r in session.execute(select(contacts)).all()}
    first = kept[rows[0]["id"]]
    assert first.interests == ["vino", "queso"] and first.notes == "ñandú «comillas»\ttab\nline \\ back"
    assert first.created_at == rows[0]["created_at"] and kept[rows[1]["id"]].notes is None


def test_a_row_a_unique_index_refuses_is_skipped_and_the_transaction_goes_on(accounts):
    contacts = accounts.db.metadata.tables["contacts"]
    with accounts.db.transaction() as uow:
        insert_rows(uow.session, contacts, [contact("taken@uno.es")])
    with accounts.db.transaction() as uow:
        rows = [contact("a@uno.es"), contact("TAKEN@uno.es"), contact("b@uno.es")]
        written = insert_rows(uow.session, contacts, rows, skip_conflicts=True)
        assert written == 2
        insert_rows(uow.session, contacts, [contact("after@uno.es")])  # the COPY's savepoint left it usable
    assert live_emails(accounts) == ["a@uno.es", "after@uno.es", "b@uno.es", "taken@uno.es"]
    with pytest.raises(Exception, match="uq_contacts_email_live"):  # without skip_conflicts, it is refused
        with accounts.db.transaction() as uow:
            insert_rows(uow.session, contacts, [contact("c@uno.es"), contact("Taken@Uno.es")])
    assert "c@uno.es" not in live_emails(accounts)


def test_events_written_with_copy_wake_the_relay_once_at_commit(accounts):
    import psycopg

    url = accounts.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    listening = psycopg.connect(url, autocommit=True)
    listening.execute(f"LISTEN {notify_channel('accounts')}")
    try:
        with accounts.db.transaction() as uow:
            ids = uow.publish_many("accounts.contact.deleted", [(f"c{i}", {"id": f"c{i}", "account_id": None})
                                                                for i in range(3)])
        assert [n.channel for n in listening.notifies(timeout=5, stop_after=1)] == [notify_channel("accounts")]
    finally:
        listening.close()
    outbox = accounts.db.tables.outbox
    with accounts.db.sessions() as session:
        assert list(session.scalars(select(outbox.c.event_id).order_by(outbox.c.id))) == ids
