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


def _event(n: int, type_: str = "x.thing.happened") -> dict:
    return new_event(source="t", type=type_, subject=str(n), data={"n": n})


def _receipts(db, consumer: str) -> int:
    from sqlalchemy import func, select

    with db.sessions() as session:
        inbox_table = db.tables.inbox
        return session.scalar(select(func.count()).select_from(inbox_table).where(inbox_table.c.consumer == consumer))


def test_a_window_is_applied_once_in_order_duplicates_included(sqlite_build):
    db = sqlite_build("accounts").db
    seen = []
    handlers = {"x.thing.happened": lambda event, uow: seen.append(event["data"]["n"])}
    first, second, third = _event(1), _event(2), _event(3)
    window = [(e["type"], encode(e)) for e in (first, second, first, third)]  # a copy inside the window
    assert inbox.handle_batch(db, "q", handlers, window) == [inbox.ACK] * 4
    assert seen == [1, 2, 3]
    # The whole window again (a redelivery after a lost ack): no second effect.
    assert inbox.handle_batch(db, "q", handlers, window) == [inbox.ACK] * 4
    assert seen == [1, 2, 3] and _receipts(db, "q") == 3


def test_one_failing_event_in_a_window_fails_alone(sqlite_build):
    db = sqlite_build("accounts").db
    applied = []

    def counted(event, uow):
        from sqlalchemy import insert

        from shared.db import utcnow

        # A real write, so a rollback of the window would show.
        uow.session.execute(insert(db.tables.inbox).values(consumer="effects", event_id=event["id"],
                                                           routing_key="x", received_at=utcnow()))
        applied.append(event["data"]["n"])

    def never(event, uow):
        raise inbox.PermanentError("never")

    def blip(event, uow):
        raise ConnectionError("blip")

    handlers = {"x.thing.happened": counted, "x.thing.poison": never, "x.thing.flaky": blip}
    events_ = [_event(1), _event(2, "x.thing.poison"), _event(3), _event(4, "x.thing.flaky"), _event(5)]
    window = [(e["type"], encode(e)) for e in events_] + [("x.thing.happened", b"garbage"),
                                                            ("x.thing.unknown", encode(_event(6, "x.thing.unknown")))]
    outcomes = inbox.handle_batch(db, "q", handlers, window)
    assert outcomes == [inbox.ACK, inbox.REJECT, inbox.ACK, inbox.REQUEUE, inbox.ACK, inbox.REJECT, inbox.REQUEUE]
    # The first pass was rolled back whole, then each event ran in its own transaction.
    assert sorted(set(applied)) == [1, 3, 5] and _receipts(db, "effects") == 3
    assert _receipts(db, "q") == 3  # no receipt for the poison or the flaky one: a retry runs them again


def test_a_database_outage_requeues_only_once_the_database_is_back(sqlite_build):
    import threading

    from sqlalchemy.exc import OperationalError

    db = sqlite_build("accounts").db

    def database_gone(event, uow):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    bodies = [("x.thing.happened", encode(new_event(source="t", type="x.thing.happened", subject=str(i), data={})))
              for i in range(3)]
    outcomes = inbox.handle_batch(db, "q", {"x.thing.happened": database_gone}, bodies)
    assert outcomes == [inbox.WAIT_FOR_DATABASE] * 3  # not requeued at once: that would spend the delivery limit
    pings = []
    real_ping = db.ping

    def ping():
        pings.append(1)
        if len(pings) < 3:
            raise OperationalError("SELECT 1", {}, Exception("still down"))
        real_ping()

    db.ping = ping
    assert inbox.requeue_after_outage(db, outcomes, threading.Event()) == [inbox.REQUEUE] * 3
    assert len(pings) == 3
    assert inbox.requeue_after_outage(db, [inbox.ACK], threading.Event()) == [inbox.ACK]


def test_an_integrity_error_in_a_handler_is_requeued_not_raised(sqlite_build):
    from sqlalchemy.exc import IntegrityError

    db = sqlite_build("accounts").db

    def clash(event, uow):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    body = encode(new_event(source="t", type="x.thing.happened", subject="s", data={}))
    assert inbox.handle(db, "q", {"x.thing.happened": clash}, "x.thing.happened", body) == inbox.REQUEUE
