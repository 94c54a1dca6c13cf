"""Login throttling (CONTRACTS §7): after ``limit`` failed logins for one
e-mail from one client address within ``window``, that e-mail from that
address gets 429 with Retry-After until the oldest failure leaves the
window — whatever the password, and the same whether the e-mail exists or
not. Counted per address, so nobody can lock a colleague out from
elsewhere. The failures live in the gateway's database, so every gateway
worker and replica sees the same count.
"""
from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, func, select

from shared.db import utcnow
from shared.http import TooManyRequests

from gateway.models import LoginFailure

LIMIT = 5
WINDOW = timedelta(minutes=15)


def _recent(email: str, address: str):
    return (LoginFailure.email == email, LoginFailure.address == address, LoginFailure.at > utcnow() - WINDOW)


def check(session, email: str, address: str, limit: int = LIMIT) -> None:
    """429 while this e-mail has ``limit`` recent failures from this address."""
    count = session.scalar(select(func.count()).select_from(LoginFailure).where(*_recent(email, address)))
    if count < limit:
        return
    # The (count - limit + 1)-th oldest failure must leave the window first.
    nth = session.scalar(select(LoginFailure.at).where(*_recent(email, address))
                         .order_by(LoginFailure.at).offset(count - limit).limit(1))
    wait = max(1, math.ceil((nth + WINDOW - utcnow()).total_seconds()))
    raise TooManyRequests(f"Too many failed logins for this e-mail from your address; try again in {wait} s.",
                          slug="login-throttled", extra={"retry_after": wait}, headers={"Retry-After": str(wait)})


def record_failure(session, email: str, address: str) -> None:
    session.add(LoginFailure(email=email, address=address))
    # Forget what no window can count any more, a few rows at a time.
    session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - 2 * WINDOW))


def clear(session, email: str, address: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.address == address))
