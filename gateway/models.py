"""The gateway's tables: users, signing keys, logins, API clients, handovers, the event history, account
merges, the search index and webhooks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, BigId, UTCDateTime, Versioned, common_tables, new_id, utcnow


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


TABLES = common_tables(Base.metadata)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    team: Mapped[str | None] = mapped_column(String(100))
    manager_id: Mapped[str | None] = mapped_column(String(36))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    # +1 when the user is deactivated or their role, team or manager changes:
    # tokens issued under an older generation are refused everywhere.
    token_generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_users_created", "created_at", "id"),)
    __mapper_args__ = {"version_id_col": version}



class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Handover(Base):
    """A rep's open work passing to a successor, tracked per service."""

    __tablename__ = "handovers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    from_user_id: Mapped[str] = mapped_column(String(36), nullable=False)
    to_user_id: Mapped[str] = mapped_column(String(36), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(36), nullable=False)
    services: Mapped[dict] = mapped_column(JSON, nullable=False)  # {service: {status, moved}}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoredEvent(Base):
    """Every CloudEvent that crossed the bus, kept for good (the event history,
    CONTRACTS §10); the customer timeline is a view over it."""

    __tablename__ = "event_history"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(200), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(64))  # the customer it concerns, if any
    time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    body: Mapped[dict] = mapped_column(JSON, nullable=False)  # the CloudEvent itself, as received

    __table_args__ = (
        Index("ix_event_history_time", "time", "event_id"),
        Index("ix_event_history_type", "type", "time", "event_id"),
        Index("ix_event_history_subject", "subject", "time", "event_id"),
        Index("ix_event_history_account", "account_id", "time", "event_id"),
    )


class AccountMerge(Base):
    """An account merged into another (accounts.account.merged): its timeline
    shows under the survivor's."""

    __tablename__ = "account_merges"

    merged_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AuthSession(Base):
    """One login (a refresh-token family): a user's password login or an API
    client's. Revoking it refuses its refresh tokens and access tokens."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(String(36), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="user")  # user | client
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_auth_sessions_subject", "subject_id"),)


class RefreshToken(Base):
    """A refresh token, kept as its SHA-256 only; it works once."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_refresh_tokens_session", "session_id"),)


class LoginFailure(Base):
    """A failed password login, counted per e-mail and client address for throttling."""

    __tablename__ = "login_failures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_login_failures_who", "email", "address", "at"),)


class ApiClient(Base):
    """An internal app's identity (client-credentials grant); the secret is kept hashed."""

    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_api_clients_created", "created_at", "id"),)


class SearchEntry(Base):
    """One record in the search index (gateway/search), kept from the events.
    A deleted or merged record stays as a tombstone (``hidden``) so that an
    event arriving late cannot bring it back; only live ones are matched.
    The words are in an engine-specific structure beside it (Postgres: the
    ``document`` tsvector column; SQLite: the ``search_fts`` FTS5 table)."""

    __tablename__ = "search_entries"

    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(400), nullable=False)
    subtitle: Mapped[str] = mapped_column(String(400), nullable=False, default="")
    title_key: Mapped[str] = mapped_column(String(400), nullable=False, default="")  # folded title, for ranking
    account_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int | None] = mapped_column(Integer)
    facts: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    hidden: Mapped[str | None] = mapped_column(String(16))  # None (searchable) | deleted | merged
    merged_into: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Webhook(Versioned, Base):
    """An outside endpoint that receives the events it asks for, signed with
    its secret (kept as is: signing needs it; shown once to the admin)."""

    __tablename__ = "webhooks"

    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    events: Mapped[list] = mapped_column(JSON, nullable=False)  # AMQP topic patterns
    description: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (Index("ix_webhooks_created", "created_at", "id"),)
    __mapper_args__ = {"version_id_col": Versioned.version}


class WebhookDelivery(Base):
    """One event owed to one webhook, until it is delivered or given up.
    ``origin`` is "live" for the event stream, or the id of a replay."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(36), nullable=False)
    event_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event_type: Mapped[str] = mapped_column(String(200), nullable=False)
    origin: Mapped[str] = mapped_column(String(36), nullable=False, default="live")
    payload: Mapped[str | None] = mapped_column(Text)  # the body sent; the history's copy serves replays
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")  # see delivery.py
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a delivery worker is sending it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", "origin", name="uq_webhook_deliveries_once"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "status"),
    )


class WebhookAttempt(Base):
    """One try at a delivery, as GET /api/v1/webhooks/{id}/deliveries lists it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(36), nullable=False)
    delivery_id: Mapped[int | None] = mapped_column(BigId)  # none for a test ping
    event_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event_type: Mapped[str] = mapped_column(String(200), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_webhook_attempts_webhook", "webhook_id", "at", "id"),
        Index("ix_webhook_attempts_at", "at"),
    )
