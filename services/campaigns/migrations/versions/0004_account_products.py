"""the products accounts own (from won deals), for segments' products[] (CONTRACTS §11)

Revision ID: 0004_account_products
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0004_account_products'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_products',
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('product_code', sa.String(length=64), nullable=False),
    sa.Column('first_won_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('account_id', 'product_code', name=op.f('pk_account_products'))
    )
    op.create_index('ix_account_products_code', 'account_products', ['product_code'])


def downgrade() -> None:
    op.drop_table('account_products')
