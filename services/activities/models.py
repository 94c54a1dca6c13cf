"""Activities' tables: activities, the replica of the records they link to
and calendar feed tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, Versioned, UTCDateTime, common_tables, utcnow


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


TABLES = common_tables(Base.metadata)


class Activity(Versioned, Base):
    __tablename__ = "activities"

    type: Mapped[str] = mapped_column(String(10), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(300))
    account_id: Mapped[str | None] = mapped_column(String(36))
    contact_id: Mapped[str | None] = mapped_column(String(36))
    opportunity_id: Mapped[str | None] = mapped_column(String(36))
    case_id: Mapped[str | None] = mapped_column(String(36))
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="planned")
    outcome: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    agreements: Mapped[object | None] = mapped_column(JSON)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the activity happens (starts_at, else due_at): the agenda's order.
    agenda_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Set by the reminder job in the same transaction as the reminder_due
    # event; cleared when remind_at changes (re-arming the reminder).
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": Versioned.version}  # optimistic concurrency

    __table_args__ = (
        Index("ix_activities_created", "created_at", "id"),
        Index("ix_activities_owner_agenda", "owner_id", "agenda_at", "id"),
        Index("ix_activities_account_agenda", "account_id", "agenda_at"),
        Index("ix_activities_contact", "contact_id"),
        Index("ix_activities_opportunity", "opportunity_id"),
        Index("ix_activities_case", "case_id"),
        # Only armed reminders are ever scanned.
        Index("ix_activities_reminder_due", "remind_at",
              postgresql_where=text("reminder_sent_at IS NULL AND deleted_at IS NULL"),
              sqlite_where=text("reminder_sent_at IS NULL AND deleted_at IS NULL")),
    )


class LinkedRecord(Base):
    """What activities know of the records they link to (accounts, contacts,
    opportunities, cases), kept from their owners' events, or read once from
    the owner on a miss."""

    __tablename__ = "linked_records"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # account|contact|opportunity|case
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(36))
    label: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(400))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # the owner's version
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class CalendarFeed(Base):
    """A user's feed token. Kept in clear (see docs/activities.md): the user
    must be able to read it again, and it only grants a read-only feed."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
