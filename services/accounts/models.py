"""Accounts' tables: accounts, contacts, and the account view read model."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, MetaData, Numeric, String, Text, event, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared import normalize
from shared.db import NAMING_CONVENTION, Versioned, UTCDateTime, common_tables, utcnow
from shared.imports import import_tables


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


TABLES = common_tables(Base.metadata, field_history=True)
IMPORT_TABLES = import_tables(Base.metadata)  # CSV imports of this service's records (shared/imports.py)




class Account(Versioned, Base):
    __tablename__ = "accounts"
    __mapper_args__ = {"version_id_col": Versioned.version}  # optimistic concurrency

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    industry: Mapped[str | None] = mapped_column(String(100))
    segment: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(300))
    tax_id: Mapped[str | None] = mapped_column(String(50))
    billing_address: Mapped[dict | None] = mapped_column(JSON)
    annual_revenue_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    annual_revenue_currency: Mapped[str | None] = mapped_column(String(3))
    employees: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    parent_account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    tags: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    # Merged into another account (services/accounts/merge.py): kept, out of
    # lists, and a GET answers 308 to the survivor.
    merged_into: Mapped[str | None] = mapped_column(String(36))
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Comparison keys for duplicate detection (services/accounts/duplicates.py), kept on every write.
    tax_key: Mapped[str | None] = mapped_column(String(50))
    domain_key: Mapped[str | None] = mapped_column(String(300))
    name_key: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_accounts_created", "created_at", "id"),
        Index("ix_accounts_merged_into", "merged_into"),
        Index("ix_accounts_owner", "owner_id"),
        Index("ix_accounts_name", "name"),
        Index("ix_accounts_tax_key", "tax_key"),
        Index("ix_accounts_domain_key", "domain_key"),
        # Subsidiaries of an account (its tree, and the check a hard delete makes);
        # partial: most accounts have no parent and cost the index nothing.
        Index("ix_accounts_parent", "parent_account_id", postgresql_where=text("parent_account_id IS NOT NULL"),
              sqlite_where=text("parent_account_id IS NOT NULL")),
    )

    def refresh_keys(self) -> None:
        for name, value in account_keys(self.tax_id, self.country, self.website, self.name).items():
            setattr(self, name, value)


class Contact(Versioned, Base):
    __tablename__ = "contacts"
    __mapper_args__ = {"version_id_col": Versioned.version}

    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    nickname: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    title: Mapped[str | None] = mapped_column(String(150))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    role: Mapped[str | None] = mapped_column(String(20))
    reports_to_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    lifecycle_stage: Mapped[str] = mapped_column(String(30), nullable=False, default="prospect")
    owner_id: Mapped[str] = mapped_column(String(36), nullable=False)
    interests: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    lifecycle_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into: Mapped[str | None] = mapped_column(String(36))  # as Account.merged_into
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Comparison keys for duplicate detection (services/accounts/duplicates.py), kept on every write.
    email_key: Mapped[str | None] = mapped_column(String(320))
    phone_key: Mapped[str | None] = mapped_column(String(30))
    name_key: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_contacts_created", "created_at", "id"),
        Index("ix_contacts_merged_into", "merged_into"),
        Index("ix_contacts_account", "account_id"),
        Index("ix_contacts_owner", "owner_id"),
        Index("ix_contacts_email_key", "email_key"),
        Index("ix_contacts_phone_key", "phone_key"),
        # Who reports to a contact (the org chart, and moving reports up when
        # it is deleted or merged): without it each of those scans the table.
        Index("ix_contacts_reports_to", "reports_to_id", postgresql_where=text("reports_to_id IS NOT NULL"),
              sqlite_where=text("reports_to_id IS NOT NULL")),
        # One live contact per address; a soft-deleted one frees it.
        Index("uq_contacts_email_live", func.lower(email), unique=True,
              postgresql_where=text("deleted_at IS NULL"), sqlite_where=text("deleted_at IS NULL")),
    )

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.email or "")

    def refresh_keys(self) -> None:
        for name, value in contact_keys(self.email, self.phone, self.first_name, self.last_name).items():
            setattr(self, name, value)


def account_keys(tax_id: str | None, country: str | None, website: str | None, name: str | None) -> dict:
    """An account's comparison keys (duplicates, CONTRACTS §9), for whatever
    writes its row: the ORM below, or an import's bulk INSERT."""
    return {"tax_key": normalize.tax_key(tax_id, country), "domain_key": normalize.website_domain(website),
            "name_key": normalize.company_name_key(name)}


def contact_keys(email: str | None, phone: str | None, first_name: str | None, last_name: str | None) -> dict:
    """A contact's comparison keys, as :func:`account_keys`."""
    return {"email_key": normalize.email_key(email), "phone_key": normalize.phone_key(phone),
            "name_key": normalize.person_name_key(first_name, last_name)}


@event.listens_for(Account, "before_insert")
@event.listens_for(Account, "before_update")
@event.listens_for(Contact, "before_insert")
@event.listens_for(Contact, "before_update")
def _refresh_keys(_mapper, _connection, target) -> None:
    """Whatever writes a record (the API, an import, a merge), its comparison keys follow."""
    target.refresh_keys()


class AccountView(Base):
    """What other services tell us about an account (CONTRACTS §4, account view)."""

    __tablename__ = "account_views"

    account_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR")
    open_cases: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    breached_cases: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    low_satisfaction: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    open_pipeline: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False, default=Decimal("0"))
    won_total: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False, default=Decimal("0"))
    won_deals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_won_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Won total in the base currency at the current rates (services/accounts/value.py);
    # null while a won deal's currency has no rate (named in lifetime_value_missing).
    lifetime_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), default=Decimal("0"))
    lifetime_value_missing: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_account_views_lifetime_value", "lifetime_value", "account_id"),)


class ViewOpportunity(Base):
    """Per-deal state behind open_pipeline / won_total, so each event can be
    applied as a delta without double counting."""

    __tablename__ = "account_view_opportunities"

    opportunity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False, default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open|won|lost|deleted


class ViewCase(Base):
    """Per-case state behind open_cases / breached_cases / low_satisfaction."""

    __tablename__ = "account_view_cases"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    breached: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    satisfaction: Mapped[int | None] = mapped_column(Integer)


class ExchangeRateCopy(Base):
    """Our copy of opportunities' exchange rates (opportunities.exchange_rate.updated),
    for lifetime value: units of ``base`` per one unit of ``currency``."""

    __tablename__ = "exchange_rates"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    base: Mapped[str] = mapped_column(String(3), nullable=False)
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
