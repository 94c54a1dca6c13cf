"""Support's tables: cases, their comments, the SLA policy, the case-number
counter, and the replicas of accounts and contacts fed by accounts' events."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, Versioned, UTCDateTime, common_tables, utcnow

OPEN_STATUSES = ("new", "open", "pending")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


TABLES = common_tables(Base.metadata, field_history=True)


# The SLA job looks only at cases whose clock still runs; these partial
# indexes keep that poll cheap however many closed cases pile up.
_FR_RUNNING = ("deleted_at IS NULL AND first_responded_at IS NULL AND first_response_breached_at IS NULL "
               "AND status IN ('new', 'open', 'pending')")
_RES_RUNNING = "deleted_at IS NULL AND resolution_breached_at IS NULL AND status IN ('new', 'open', 'pending')"


class Case(Versioned, Base):
    __tablename__ = "cases"
    __mapper_args__ = {"version_id_col": Versioned.version}  # optimistic concurrency

    number: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[str | None] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    requester_email: Mapped[str | None] = mapped_column(String(320))
    requester_name: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    priority: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="new")
    assignee_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(36))
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction_score: Mapped[int | None] = mapped_column(Integer)
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The Message-ID of the e-mail that opened the case: a mail gateway that
    # retries the same message gets the same case back.
    inbound_message_id: Mapped[str | None] = mapped_column(String(300), unique=True)

    __table_args__ = (
        Index("ix_cases_created", "created_at", "id"),
        Index("ix_cases_account", "account_id"),
        Index("ix_cases_assignee", "assignee_id"),
        Index("ix_cases_status", "status"),
        Index("ix_cases_first_response_clock", "first_response_due_at",
              postgresql_where=text(_FR_RUNNING), sqlite_where=text(_FR_RUNNING)),
        Index("ix_cases_resolution_clock", "resolution_due_at",
              postgresql_where=text(_RES_RUNNING), sqlite_where=text(_RES_RUNNING)),
    )

    @property
    def reference(self) -> str:
        """What a subject line carries so a reply finds its case: ``[#42]``."""
        return f"[#{self.number}]"

    @property
    def sla_breached(self) -> bool:
        return self.first_response_breached_at is not None or self.resolution_breached_at is not None

    @property
    def satisfaction(self) -> dict | None:
        if self.satisfaction_score is None:
            return None
        return {"case_id": self.id, "score": self.satisfaction_score, "comment": self.satisfaction_comment,
                "rated_at": self.rated_at}


class CaseComment(Versioned, Base):
    __tablename__ = "case_comments"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    author_type: Mapped[str] = mapped_column(String(10), nullable=False)  # staff | customer
    author_id: Mapped[str | None] = mapped_column(String(36))
    author_email: Mapped[str | None] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(300), unique=True)

    __table_args__ = (Index("ix_case_comments_case", "case_id", "created_at", "id"),)


class Counter(Base):
    """Gapless sequences (the case number): the row is updated in the
    creating transaction, so concurrent creators queue on it and a rollback
    gives its number back."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class SlaPolicy(Base):
    __tablename__ = "sla_policies"

    priority: Mapped[str] = mapped_column(String(10), primary_key=True)
    first_response_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    resolution_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(36))


class SlaCalendar(Base):
    """Business hours the SLA clocks count (one row, "default"; none = 24/7)."""

    __tablename__ = "sla_calendars"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    hours: Mapped[dict] = mapped_column(JSON, nullable=False)
    holidays_country: Mapped[str | None] = mapped_column(String(2))
    holidays_subdivision: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(36))


class AccountReplica(Base):
    """What support knows about accounts (from accounts.account.* events)."""

    __tablename__ = "account_replica"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class ContactReplica(Base):
    """What support knows about contacts (from accounts.contact.* events)."""

    __tablename__ = "contact_replica"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
