"""field history: what changed in each record, when and by whom (CONTRACTS §10)

Revision ID: 0005_field_history
Revises: 0004_lifetime_value
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0005_field_history'
down_revision = '0004_lifetime_value'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('field_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('aggregate', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('time', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_history'))
    )
    op.create_index('ix_field_history_record', 'field_history', ['record_id', 'id'])


def downgrade() -> None:
    op.drop_table('field_history')
