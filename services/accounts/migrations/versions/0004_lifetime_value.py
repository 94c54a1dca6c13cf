"""lifetime value on the account view, and a copy of the exchange rates (CONTRACTS §11)

Revision ID: 0004_lifetime_value
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0004_lifetime_value'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exchange_rates',
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('base', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=24, scale=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('as_of', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('currency', name=op.f('pk_exchange_rates'))
    )
    with op.batch_alter_table('account_views') as batch:
        batch.add_column(sa.Column('lifetime_value', sa.Numeric(precision=18, scale=2), nullable=True))
        batch.add_column(sa.Column('lifetime_value_missing', sa.String(length=100), nullable=True))
    # Left null here: the worker's lifetime-values job computes the views that
    # have never been valued (it knows the base currency; a migration does not).
    op.create_index('ix_account_views_lifetime_value', 'account_views', ['lifetime_value', 'account_id'])


def downgrade() -> None:
    op.drop_index('ix_account_views_lifetime_value', table_name='account_views')
    with op.batch_alter_table('account_views') as batch:
        batch.drop_column('lifetime_value_missing')
        batch.drop_column('lifetime_value')
    op.drop_table('exchange_rates')
