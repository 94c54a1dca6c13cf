"""A request's reads on Postgres run without a transaction (no BEGIN, nothing
to roll back), and the pooled connection goes back to transactions for the
next write."""
from __future__ import annotations

from psycopg.pq import TransactionStatus
from sqlalchemy import select, text

from shared.web import read_session


def _driver(session):
    return session.connection().connection.dbapi_connection


def test_a_read_opens_no_transaction_and_a_write_still_does(build):
    accounts = build("accounts")
    db = accounts.db
    with accounts.app.test_request_context("/api/v1/accounts"):
        session = read_session()
        assert session.execute(select(text("1"))).scalar() == 1
        reader = _driver(session)
        assert reader.autocommit is True
        assert reader.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
        session.close()
    with db.sessions() as session:
        session.execute(select(text("1")))
        writer = _driver(session)
        assert writer is reader  # the same pooled connection, handed back for a write
        assert writer.autocommit is False
        assert writer.info.transaction_status == TransactionStatus.INTRANS
        session.rollback()
