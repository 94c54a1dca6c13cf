"""Accounts' scheduled work."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select

from shared.db import utcnow
from shared.worker import Job

from services.accounts.models import AccountView, Contact
from services.accounts.service import move_lifecycle

INACTIVITY_INTERVAL = 300.0  # seconds; the rule counts in days, so a few minutes' lag is harmless
IMPORTS_INTERVAL = 1.0  # how soon a new import starts


def mark_inactive_customers(db, settings, *, batch: int = 200) -> int:
    """Active customers whose account has had no won deal and no activity for
    CADENA_INACTIVE_AFTER_DAYS (and who became active before that) become
    inactive customers. Safe with several workers: each batch claims its
    contacts with FOR UPDATE SKIP LOCKED, and the move (the "done" mark) and
    its events commit together."""
    cutoff = utcnow() - timedelta(days=settings.inactive_after_days)
    moved = 0
    while True:
        with db.transaction() as uow:
            stmt = (
                select(Contact)
                .outerjoin(AccountView, AccountView.account_id == Contact.account_id)
                .where(Contact.lifecycle_stage == "active_customer", Contact.deleted_at.is_(None),
                       Contact.account_id.is_not(None),
                       or_(Contact.lifecycle_changed_at.is_(None), Contact.lifecycle_changed_at < cutoff),
                       or_(AccountView.last_won_at.is_(None), AccountView.last_won_at < cutoff),
                       or_(AccountView.last_activity_at.is_(None), AccountView.last_activity_at < cutoff))
                .order_by(Contact.id)
                .limit(batch)
            )
            if db.is_postgres:
                stmt = stmt.with_for_update(of=Contact, skip_locked=True)
            contacts = list(uow.session.scalars(stmt))
            for contact in contacts:
                move_lifecycle(uow, contact, "inactive_customer")
        moved += len(contacts)
        if len(contacts) < batch:
            return moved


def run_imports(db, settings) -> int:
    from shared.imports import run_pending

    from services.accounts.imports import REGISTRY

    return run_pending(db, REGISTRY.tables, REGISTRY.kinds, settings.base_currency)


def jobs(db, settings) -> list[Job]:
    return [Job("inactive-customers", INACTIVITY_INTERVAL, lambda: mark_inactive_customers(db, settings)),
            Job("imports", IMPORTS_INTERVAL, lambda: run_imports(db, settings))]
