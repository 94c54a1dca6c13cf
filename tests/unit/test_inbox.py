"""The inbox decides duplicates by event id, per consumer (SQLite, no broker)."""
from __future__ import annotations

from shared import inbox
from shared.events import encode, new_event


def test_second_delivery_of_an_event_is_acked_without_effect(sqlite_build):
    db = sqlite_build("accounts").db
    seen = []
    handlers = {"x.thing.happened": lambda event, uow: seen.append(event["id"])}
    body = encode(new_event(source="t", type="x.thing.happened", subject="s", data={}))
    assert inbox.handle(db, "queue-a", handlers, "x.thing.happened", body) == inbox.ACK
    assert inbox.handle(db, "queue-a", handlers, "x.thing.happened", body) == inbox.ACK
    assert len(seen) == 1
    # Another consumer of the same event handles it for itself.
    assert inbox.handle(db, "queue-b", handlers, "x.thing.happened", body) == inbox.ACK
    assert len(seen) == 2


def test_failed_handler_leaves_no_receipt_so_a_retry_runs_again(sqlite_build):
    db = sqlite_build("accounts").db
    attempts = []

    def flaky(event, uow):
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("blip")

    body = encode(new_event(source="t", type="x.thing.happened", subject="s", data={}))
    handlers = {"x.thing.happened": flaky}
    assert inbox.handle(db, "q", handlers, "x.thing.happened", body) == inbox.REQUEUE
    assert inbox.handle(db, "q", handlers, "x.thing.happened", body) == inbox.ACK
    assert len(attempts) == 2


def test_garbage_and_permanent_errors_are_rejected(sqlite_build):
    db = sqlite_build("accounts").db

    def broken(event, uow):
        raise inbox.PermanentError("never")

    assert inbox.handle(db, "q", {}, "x", b"garbage") == inbox.REJECT
    body = encode(new_event(source="t", type="x.y.z", subject="s", data={}))
    assert inbox.handle(db, "q", {"x.y.z": broken}, "x.y.z", body) == inbox.REJECT
    assert inbox.handle(db, "q", {}, "x.y.z", body) == inbox.REQUEUE  # no handler here: another replica's


def test_a_late_copy_of_a_user_never_undoes_a_newer_one(sqlite_build):
    from sqlalchemy import select

    from shared.auth import on_user_changed

    db = sqlite_build("accounts").db
    user = {"id": "u1", "email": "u1@x.es", "name": "U", "role": "rep", "team": "Iberia", "active": True}
    older = new_event(source="gateway", type="identity.user.updated", subject="u1", data=user)
    newer = new_event(source="gateway", type="identity.user.updated", subject="u1", data={**user, "active": False})
    handlers = {"identity.user.updated": on_user_changed}
    inbox.handle(db, "q", handlers, newer["type"], encode(newer))
    inbox.handle(db, "q", handlers, older["type"], encode(older))  # arrives late
    with db.sessions() as session:
        assert session.execute(select(db.tables.users.c.active)).scalar_one() == 0
