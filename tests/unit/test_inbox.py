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
    assert inbox.handle(db, "q", {}, "x.y.z", body) == inbox.ACK  # not ours: ignored
