"""business hours for SLAs (CONTRACTS §11)

Revision ID: 0004_sla_calendar
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0004_sla_calendar'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sla_calendars',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('holidays_country', sa.String(length=2), nullable=True),
    sa.Column('holidays_subdivision', sa.String(length=10), nullable=True),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sla_calendars'))
    )


def downgrade() -> None:
    op.drop_table('sla_calendars')
