"""the product catalogue, exchange rates, catalogue names on line items, and
the account replica's industry and segment (CONTRACTS §11)

Revision ID: 0004_products_and_rates
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0004_products_and_rates'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('products',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('family', sa.String(length=100), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    op.create_index('ix_products_created', 'products', ['created_at', 'id'])
    op.create_index('uq_products_code_live', 'products', ['code'], unique=True,
                    postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))
    op.create_table('exchange_rates',
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('base', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=24, scale=12), nullable=False),
    sa.Column('as_of', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('currency', name=op.f('pk_exchange_rates'))
    )
    with op.batch_alter_table('opportunity_line_items') as batch:
        batch.add_column(sa.Column('product_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('product_family', sa.String(length=100), nullable=True))
    with op.batch_alter_table('account_replica') as batch:
        batch.add_column(sa.Column('industry', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('segment', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('account_replica') as batch:
        batch.drop_column('segment')
        batch.drop_column('industry')
    with op.batch_alter_table('opportunity_line_items') as batch:
        batch.drop_column('product_family')
        batch.drop_column('product_name')
    op.drop_table('exchange_rates')
    op.drop_table('products')
