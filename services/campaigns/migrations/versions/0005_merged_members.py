"""merged members: a membership that gave way to its contact's survivor keeps its state

Revision ID: 0005_merged_members
Revises: 0004_account_products
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0005_merged_members'
down_revision = '0004_account_products'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('merged_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.String(length=36), nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('merged_into', sa.String(length=36), nullable=False),
    sa.Column('merged_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merged_members'))
    )
    op.create_index('ix_merged_members_campaign', 'merged_members', ['campaign_id', 'merged_into'])


def downgrade() -> None:
    op.drop_table('merged_members')
