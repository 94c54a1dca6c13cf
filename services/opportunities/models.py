"""Opportunities' tables: deals and their line items, quotas, and the
replicas of accounts' data (accounts, contacts) fed by its events."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, MetaData, Numeric, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import NAMING_CONVENTION, Versioned, UTCDateTime, common_tables, new_id, utcnow
from shared.imports import import_tables


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


TABLES = common_tables(Base.metadata, field_history=True)
IMPORT_TABLES = import_tables(Base.metadata)  # CSV imports of this service's records (shared/imports.py)


class Opportunity(Versioned, Base):
    __tablename__ = "opportunities"
    __mapper_args__ = {"version_id_col": Versioned.version}  # optimistic concurrency

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    account_id: Mapped[str] = mapped_column(String(36), nullable=False)
    primary_contact_id: Mapped[str | None] = mapped_column(String(36))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    close_date: Mapped[date] = mapped_column(Date, nullable=False)
    stage: Mapped[str] = mapped_column(String(20), nullable=False)
    probability: Mapped[int] = mapped_column(Integer, nullable=False)
    forecast_category: Mapped[str] = mapped_column(String(20), nullable=False)
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[str | None] = mapped_column(String(36))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(500))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    line_items: Mapped[list["LineItem"]] = relationship(
        back_populates="opportunity", order_by="LineItem.position", cascade="all, delete-orphan",
        lazy="selectin")

    __table_args__ = (
        Index("ix_opportunities_created", "created_at", "id"),
        Index("ix_opportunities_owner", "owner_id"),
        Index("ix_opportunities_account", "account_id"),
        # the pipeline (open stages by currency) and the forecast (close dates in a period)
        Index("ix_opportunities_currency_stage", "currency", "stage"),
        Index("ix_opportunities_currency_close", "currency", "close_date"),
    )

    @property
    def is_open(self) -> bool:
        return self.stage not in ("closed_won", "closed_lost")


class LineItem(Base):
    __tablename__ = "opportunity_line_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"),
                                                nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    product_code: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(500))
    # The catalogue's name and family when product_code is in it (a snapshot
    # taken when the line is set: renaming a product never rewrites a deal).
    product_name: Mapped[str | None] = mapped_column(String(200))
    product_family: Mapped[str | None] = mapped_column(String(100))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)

    opportunity: Mapped[Opportunity] = relationship(back_populates="line_items")


class PipelineTotal(Base):
    """Open and closed deal value per owner, currency, close month, stage and
    forecast category, kept in the same transaction as every deal change, so
    the pipeline and the forecast sum a few buckets instead of every deal.
    Money in whole cents (exact on every backend); weighted = Σ cents × probability."""

    __tablename__ = "pipeline_totals"

    owner_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # the close date's month: 2026-11
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    forecast_category: Mapped[str] = mapped_column(String(20), primary_key=True)
    deals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    weighted: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)

    __table_args__ = (Index("ix_pipeline_totals_currency_month", "currency", "month"),)


class Quota(Base):
    __tablename__ = "quotas"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-Q4 | 2026-11
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_quotas_period", "period", "currency"),)


class AccountReplica(Base):
    """What we need of an account (accounts' events; a miss is read once from accounts)."""

    __tablename__ = "account_replica"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    tax_id: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(String(2))
    billing_address: Mapped[dict | None] = mapped_column(JSON)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    industry: Mapped[str | None] = mapped_column(String(100))  # for recommendations (peers)
    segment: Mapped[str | None] = mapped_column(String(20))
    source_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class ContactReplica(Base):
    __tablename__ = "contact_replica"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    email: Mapped[str | None] = mapped_column(String(320))
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    source_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Product(Versioned, Base):
    """The catalogue: a line item whose product_code is here is named from it."""

    __tablename__ = "products"
    __mapper_args__ = {"version_id_col": Versioned.version}

    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    family: Mapped[str | None] = mapped_column(String(100))
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (
        Index("ix_products_created", "created_at", "id"),
        # One live product per code; a deleted one frees it.
        Index("uq_products_code_live", "code", unique=True,
              postgresql_where=text("deleted_at IS NULL"), sqlite_where=text("deleted_at IS NULL")),
    )


class ExchangeRate(Base):
    """Units of the base currency per one unit of ``currency`` (CONTRACTS §11).
    A rate set under another base currency is not used (``base``)."""

    __tablename__ = "exchange_rates"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    base: Mapped[str] = mapped_column(String(3), nullable=False)
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12), nullable=False)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(36))

    __mapper_args__ = {"version_id_col": version}
