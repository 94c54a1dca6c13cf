"""Database plumbing every service shares: engines, the tables of the
outbox/inbox pattern, column types, and the unit of work.

Engines are built by :class:`Database` inside app factories and worker
entry points — never at import time, because gunicorn forks after import.
"""
from __future__ import annotations

from contextlib import contextmanager
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterator

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from shared import events, tracing
from shared.observability import current_actor_id, current_request_id

# Names constraints the same way on every backend so alembic can diff them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; Cadena stores aware UTC times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Versioned:
    """The columns every resource has: a UUID id, a version (+1 per change,
    used for ETags and optimistic concurrency), times, and a soft delete.

    Models add ``__mapper_args__ = {"version_id_col": Versioned.version}``."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


@dataclass(frozen=True)
class CommonTables:
    outbox: Table
    inbox: Table
    users: Table
    idempotency: Table
    history: Table | None = None  # field_history, in services that keep one (shared/history.py)


def common_tables(metadata: MetaData, *, field_history: bool = False) -> CommonTables:
    """The tables every service keeps beside its own: the outbox it publishes
    from, the inbox that makes its consumers idempotent, its replica of the
    gateway's users (for team-based permissions, handovers and revocation)
    and the answers its Idempotency-Keys hold; with ``field_history``, the
    history of its records' changes."""
    history = None
    if field_history:
        from shared.history import history_table

        history = history_table(metadata)
    return CommonTables(outbox=_outbox(metadata), inbox=_inbox(metadata), users=_user_replica(metadata),
                        idempotency=_idempotency_keys(metadata), history=history)


def _outbox(metadata: MetaData) -> Table:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("routing_key", String(200), nullable=False),
        Column("aggregate_id", String(64), nullable=True),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        Column("published_at", UTCDateTime, nullable=True),
    )
    Index("ix_outbox_unpublished", outbox.c.published_at, outbox.c.id)
    return outbox


def _inbox(metadata: MetaData) -> Table:
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("routing_key", String(200), nullable=False),
        Column("received_at", UTCDateTime, nullable=False, default=utcnow),
    )
    Index("ix_inbox_received_at", inbox.c.received_at)  # retention purges the oldest
    return inbox


def _user_replica(metadata: MetaData) -> Table:
    return Table(
        "user_replica",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("email", String(320), nullable=False),
        Column("name", String(200), nullable=False),
        Column("role", String(20), nullable=False),
        Column("team", String(100), nullable=True),
        Column("manager_id", String(36), nullable=True),
        Column("active", Integer, nullable=False, default=1),
        # Tokens issued under an older generation are refused (shared/revocation.py).
        Column("token_generation", Integer, nullable=False, default=0, server_default="0"),
        Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    )


def _idempotency_keys(metadata: MetaData) -> Table:
    keys = Table(
        "idempotency_keys",
        metadata,
        Column("principal_id", String(36), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status", String(10), nullable=False, default="pending"),  # pending | done
        Column("response_status", Integer, nullable=True),
        Column("response_headers", JSON, nullable=True),
        Column("response_body", Text, nullable=True),
        Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    )
    Index("ix_idempotency_keys_created_at", keys.c.created_at)  # retention drops day-old keys
    return keys


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while the worker writes; the busy timeout
    # makes the two processes queue for the write lock instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Sized for a web process of a few threads or a worker of three; scale
    # out with more processes, and keep Postgres' connection budget in mind.
    kwargs.setdefault("pool_size", 4)
    kwargs.setdefault("max_overflow", 4)
    return create_engine(url, pool_pre_ping=True, pool_recycle=1800, **kwargs)


def notify_channel(component: str) -> str:
    return f"cadena_outbox_{component}"


class KeepAndRaise(Exception):
    """A refusal that keeps what the use case recorded before it (a failed
    login's count, a login revoked for a reused refresh token): the commit
    boundary commits, then raises ``error``."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


class Database:
    """One component's database: its engine, sessions and common tables."""

    def __init__(self, url: str, component: str, metadata: MetaData, tables: CommonTables):
        self.url = url
        self.component = component
        self.metadata = metadata
        self.tables = tables
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # A request's reads (shared.web.read_session): on Postgres each statement commits by itself, so a read
        # sends no BEGIN and no ROLLBACK, two of a list's five round trips. READ COMMITTED gave each statement a
        # snapshot of its own already, so what a read sees does not change. Never for writes, nor for a
        # server-side cursor (the yield_per execution option): it needs a transaction, so those take sessions().
        self.reads = (sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
                      if self.is_postgres else self.sessions)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def uow(self) -> "UnitOfWork":
        """A new unit of work — or, inside a request that carries an
        Idempotency-Key, the request's own transaction (shared/idempotency.py)."""
        from shared.idempotency import request_unit_of_work

        return request_unit_of_work(self) or UnitOfWork(self)

    @contextmanager
    def transaction(self) -> Iterator["UnitOfWork"]:
        """The one commit boundary of a use case: runs the block in a unit of
        work and commits it when the block returns (rolls back if it raises).
        Use cases, handlers and jobs never commit; calls to other services
        happen before it opens."""
        with self.uow() as uow:
            try:
                yield uow
            except KeepAndRaise as refusal:
                uow.commit()
                raise refusal.error from None
            uow.commit()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    """One transaction: the change and the events it causes commit together.

    Rolls back unless :meth:`commit` was called. Events go to the outbox table
    in the same transaction, so nothing is published for a rolled-back change
    and nothing committed is lost if the broker is down.
    """

    def __init__(self, db: Database):
        self.db = db
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self.db.sessions()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def publish(self, routing_key: str, subject: str | None, data: dict, *, event_id: str | None = None) -> str:
        """Record an event to publish once this unit commits. Returns its id.
        Its data must match the routing key's contract (shared/contracts.py);
        an event a request causes names its principal (``actor_id``)."""
        row = self.outbox_row(routing_key, subject, data, event_id=event_id)
        self.session.execute(insert(self.db.tables.outbox), row)
        return row["event_id"]

    def outbox_row(self, routing_key: str, subject: str | None, data: dict, *, event_id: str | None = None) -> dict:
        """The outbox row :meth:`publish` writes, for a caller that writes it together with another."""
        from shared.contracts import catalogue, check_changes

        actor_id = current_actor_id()
        if actor_id is not None and "actor_id" not in data:
            data = {**data, "actor_id": actor_id}
        check_changes(routing_key, data)
        catalogue().check(routing_key, data)
        event_id = event_id or new_id()
        with tracing.span(f"{routing_key} create", kind="producer",
                          attributes=tracing.messaging(routing_key, event_id, "create")):
            envelope = events.new_event(source=self.db.component, type=routing_key, subject=subject, data=data,
                                        correlation_id=current_request_id(), event_id=event_id,
                                        traceparent=tracing.current_traceparent())
            return {"event_id": event_id, "routing_key": routing_key, "aggregate_id": subject,
                    "body": events.encode(envelope), "created_at": utcnow()}

    def publish_many(self, routing_key: str, items: list[tuple[str | None, dict]], *,
                     correlation_id: str | None = None, actor_id: str | None = None) -> list[str]:
        """:meth:`publish` for many events of one routing key (a bulk write):
        each is checked against the contract, and they are written at once
        (``shared.bulk_insert``: COPY on Postgres). ``actor_id``: whose work
        it is (an import's importer) when no request says so. Returns their
        ids, in order."""
        from shared.contracts import catalogue, check_changes

        correlation, now = correlation_id or current_request_id(), utcnow()
        actor_id = current_actor_id() or actor_id
        if actor_id is not None:
            items = [(subject, {**data, "actor_id": data.get("actor_id") or actor_id}) for subject, data in items]
        for _, data in items:
            check_changes(routing_key, data)
        catalogue().check_many(routing_key, [data for _, data in items])
        rows = []
        for subject, data in items:
            envelope = events.new_event(source=self.db.component, type=routing_key, subject=subject, data=data,
                                        correlation_id=correlation)
            rows.append({"event_id": envelope["id"], "routing_key": routing_key, "aggregate_id": subject,
                         "body": events.encode(envelope), "created_at": now})
        from shared.bulk_insert import insert_rows

        insert_rows(self.session, self.db.tables.outbox, rows)
        return [r["event_id"] for r in rows]

    def commit(self) -> None:
        # On Postgres a trigger on the outbox NOTIFYs the relay at commit
        # (shared/migrations.py); nothing to do here.
        self.session.commit()


def dialect_of(target):
    """The SQLAlchemy dialect module whose ``insert`` has ``on_conflict_do_*``
    for the database behind ``target`` (a :class:`Database` or a Session)."""
    from sqlalchemy.dialects import postgresql, sqlite

    postgres = target.is_postgres if isinstance(target, Database) else \
        target.get_bind().dialect.name == "postgresql"
    return postgresql if postgres else sqlite


def money_out(amount: Decimal | None, currency: str | None) -> dict | None:
    if amount is None:
        return None
    return {"amount": f"{Decimal(amount):.2f}", "currency": currency}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
