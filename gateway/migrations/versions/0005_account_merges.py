"""account merges: the timeline of a merged account shows under its survivor

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_merges',
    sa.Column('merged_id', sa.String(length=36), nullable=False),
    sa.Column('survivor_id', sa.String(length=36), nullable=False),
    sa.Column('merged_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('merged_id', name=op.f('pk_account_merges'))
    )
    op.create_index(op.f('ix_account_merges_survivor_id'), 'account_merges', ['survivor_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_account_merges_survivor_id'), table_name='account_merges')
    op.drop_table('account_merges')
