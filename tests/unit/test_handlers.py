"""Handlers, tested on their own with a fake unit of work: what they keep,
in any order of arrival, redelivered, and that they never commit."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from shared.inbox import PermanentError
from tests.support.fakes import FakeUnitOfWork, event

# component → (its handlers module, its replica table of accounts, the column that holds the name)
ACCOUNT_REPLICAS = {
    "opportunities": ("services.opportunities.handlers", "account_replica", "name", "id"),
    "support": ("services.support.handlers", "account_replica", "name", "id"),
    "activities": ("services.activities.handlers", "linked_records", "label", "id"),
    "campaigns": ("services.campaigns.handlers", "account_replica", "name", "id"),
}


def _handle(db, handlers, routing_key, data, **kw):
    with FakeUnitOfWork(db) as uow:
        handlers[routing_key](event(routing_key, data, **kw), uow)
        uow.keep()
        return uow.published


def _account(db, table, column, account_id):
    with db.sessions() as session:
        return session.execute(text(f"SELECT {column}, deleted FROM {table} WHERE id = :id"),
                               {"id": account_id}).first()


@pytest.mark.parametrize("component", sorted(ACCOUNT_REPLICAS))
def test_an_older_account_event_never_overwrites_a_newer_one(sqlite_build, component):
    import importlib

    module, table, column, _ = ACCOUNT_REPLICAS[component]
    handlers = importlib.import_module(module).HANDLERS
    db = sqlite_build(component).db
    account_id = str(uuid.uuid4())
    _handle(db, handlers, "accounts.account.updated", {"id": account_id, "name": "Bodegas Nuevo", "version": 3})
    _handle(db, handlers, "accounts.account.created", {"id": account_id, "name": "Bodegas Viejo", "version": 1})
    name, deleted = _account(db, table, column, account_id)
    assert (name, bool(deleted)) == ("Bodegas Nuevo", False)
    _handle(db, handlers, "accounts.account.updated", {"id": account_id, "name": "Bodegas Nuevo", "version": 3})
    assert _account(db, table, column, account_id)[0] == "Bodegas Nuevo"  # redelivered: no change


@pytest.mark.parametrize("component", sorted(ACCOUNT_REPLICAS))
def test_a_deleted_account_stays_deleted_whatever_arrives_after(sqlite_build, component):
    import importlib

    module, table, column, _ = ACCOUNT_REPLICAS[component]
    handlers = importlib.import_module(module).HANDLERS
    db = sqlite_build(component).db
    account_id = str(uuid.uuid4())
    _handle(db, handlers, "accounts.account.deleted", {"id": account_id, "name": "Ida S.L.", "version": 4})
    _handle(db, handlers, "accounts.account.created", {"id": account_id, "name": "Ida S.L.", "version": 1})
    _handle(db, handlers, "accounts.account.updated", {"id": account_id, "name": "Ida S.L.", "version": 9})
    assert bool(_account(db, table, column, account_id)[1]) is True


def test_campaigns_keeps_a_newer_lifecycle_stage_against_a_late_older_one(sqlite_build):
    from services.campaigns.handlers import HANDLERS

    db = sqlite_build("campaigns").db
    contact_id, account_id = str(uuid.uuid4()), str(uuid.uuid4())
    _handle(db, HANDLERS, "accounts.contact.lifecycle_changed",
            {"contact_id": contact_id, "account_id": account_id, "from": "lead", "to": "customer"},
            subject=contact_id, time="2026-11-02T12:00:00Z")
    with db.sessions() as session:  # learnt before the contact itself: kept, not yet targeted
        stage, known = session.execute(text("SELECT lifecycle_stage, known FROM contact_replica")).one()
    assert (stage, bool(known)) == ("customer", False)
    _handle(db, HANDLERS, "accounts.contact.created",
            {"id": contact_id, "account_id": account_id, "first_name": "Ana", "email": "ana@x.es",
             "lifecycle_stage": "lead", "version": 1}, time="2026-11-02T11:00:00Z")
    with db.sessions() as session:
        row = session.execute(text("SELECT lifecycle_stage, known, first_name FROM contact_replica")).one()
    assert (row[0], bool(row[1]), row[2]) == ("customer", True, "Ana")


def test_the_account_view_counts_cases_once_however_often_an_event_comes(sqlite_build):
    from services.accounts.handlers import HANDLERS
    from services.accounts.models import AccountView

    db = sqlite_build("accounts").db
    account_id, case_id = str(uuid.uuid4()), str(uuid.uuid4())
    opened = {"id": case_id, "number": 7, "subject": "No arranca", "status": "new", "account_id": account_id}
    for _ in range(3):
        published = _handle(db, HANDLERS, "support.case.opened", opened)
        assert published == []
    _handle(db, HANDLERS, "support.case.sla_breached",
            {"case_id": case_id, "account_id": account_id, "target": "resolution", "due_at": "2026-11-02T10:00:00Z"},
            subject=case_id)
    with db.sessions() as session:
        view = session.get(AccountView, account_id)
        assert (view.open_cases, view.breached_cases) == (1, 1)
    _handle(db, HANDLERS, "support.case.closed", {**opened, "status": "closed"})
    with db.sessions() as session:
        view = session.get(AccountView, account_id)
        assert (view.open_cases, view.breached_cases) == (0, 1)  # a breach is never undone


def test_a_case_event_without_a_case_id_is_permanent(sqlite_build):
    from services.accounts.handlers import HANDLERS

    db = sqlite_build("accounts").db
    with FakeUnitOfWork(db) as uow, pytest.raises(PermanentError):
        HANDLERS["support.case.sla_breached"]({"type": "support.case.sla_breached", "data": {
            "account_id": str(uuid.uuid4()), "target": "resolution", "due_at": "2026-11-02T10:00:00Z"}}, uow)


@pytest.mark.parametrize("component", ["accounts", "opportunities", "activities", "campaigns", "support"])
def test_no_handler_commits(sqlite_build, component):
    """Every handler of a component runs on a minimal event of its type without committing
    (it may refuse the event; it may not end the transaction)."""
    import importlib

    from tests.support.fakes import HandlerCommitted

    handlers = importlib.import_module(f"services.{component}.handlers").HANDLERS
    db = sqlite_build(component).db
    ident = str(uuid.uuid4())
    for routing_key, handler in handlers.items():
        with FakeUnitOfWork(db) as uow:
            try:
                handler(event(routing_key, {"id": ident, "name": "X", "version": 1}, subject=ident), uow)
            except HandlerCommitted:
                raise
            except Exception:  # noqa: BLE001 — a minimal event may be refused; committing is what we check
                pass
