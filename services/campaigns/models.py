"""Campaigns' tables: campaigns and their members, the replica of accounts,
contacts and opportunities fed by events, and the global opt-out list."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, MetaData, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, BigId, Versioned, UTCDateTime, common_tables, utcnow


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


TABLES = common_tables(Base.metadata)


class Campaign(Versioned, Base):
    __tablename__ = "campaigns"
    __mapper_args__ = {"version_id_col": Versioned.version}  # optimistic concurrency

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="draft")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    budget_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    budget_currency: Mapped[str | None] = mapped_column(String(3))
    actual_cost_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    actual_cost_currency: Mapped[str | None] = mapped_column(String(3))
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    # The stored (normalised) segment: lists of values, revenue bounds as
    # {"amount": "<decimal string>", "currency"} — JSON has no decimals.
    segment: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # {"prospect"|"customer"|"default"|<lifecycle stage>: {"subject", "body"}}
    templates: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_campaigns_created", "created_at", "id"),
        Index("ix_campaigns_owner", "owner_id"),
    )


class Member(Base):
    """A contact targeted by a campaign.

    ``status`` is the public, marketing state (targeted|sent|responded|
    converted|opted_out); ``delivery`` is the e-mail pipeline's own state
    (null until launch, then pending|sending|sent|failed|unknown|skipped).
    """

    __tablename__ = "campaign_members"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="targeted")
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    delivery: Mapped[str | None] = mapped_column(String(10))
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(300))
    template: Mapped[str | None] = mapped_column(String(30))
    last_error: Mapped[str | None] = mapped_column(String(500))

    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_campaign_members_page", "campaign_id", "created_at", "contact_id"),
        Index("ix_campaign_members_delivery", "delivery", "next_attempt_at"),
        Index("ix_campaign_members_account", "account_id"),
        Index("ix_campaign_members_contact", "contact_id"),
    )


class MergedMember(Base):
    """A membership that gave way when its contact was merged (the survivor
    already was a member, further along): its state is kept here, so a merge
    loses no history (services/campaigns/merging.py)."""

    __tablename__ = "merged_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(36), nullable=False)
    contact_id: Mapped[str] = mapped_column(String(36), nullable=False)  # whose membership it was
    merged_into: Mapped[str] = mapped_column(String(36), nullable=False)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    state: Mapped[dict] = mapped_column(JSON, nullable=False)  # the member row as it was

    __table_args__ = (Index("ix_merged_members_campaign", "campaign_id", "merged_into"),)


class AccountReplica(Base):
    """What accounts.account.* events told us (only what segments need)."""

    __tablename__ = "account_replica"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    segment: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    region: Mapped[str | None] = mapped_column(String(100))
    annual_revenue_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    annual_revenue_currency: Mapped[str | None] = mapped_column(String(3))
    version: Mapped[int | None] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class ContactReplica(Base):
    """What accounts.contact.* events told us, lifecycle included."""

    __tablename__ = "contact_replica"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(30))
    interests: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    version: Mapped[int | None] = mapped_column(Integer)
    # Time of the newest event that set lifecycle_stage: a late, older
    # lifecycle_changed must not undo a newer stage.
    lifecycle_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False while only a lifecycle_changed has arrived: not targeted until
    # a full contact event says who it is.
    known: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class OpportunityReplica(Base):
    """Deals as opportunities.* events describe them: enough for ROI."""

    __tablename__ = "opportunity_replica"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    campaign_id: Mapped[str | None] = mapped_column(String(36), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    stage: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open|won|lost|deleted
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class OptOut(Base):
    """A contact who opted out of marketing mail, from any campaign: no
    campaign ever mails them again."""

    __tablename__ = "opt_outs"

    contact_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(String(36))
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class AccountProduct(Base):
    """A product an account owns, from the line items of its won deals
    (opportunities.opportunity.won): what segments' ``products[]`` match."""

    __tablename__ = "account_products"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    product_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_won_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_account_products_code", "product_code"),)
