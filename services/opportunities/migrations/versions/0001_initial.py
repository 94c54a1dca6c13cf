"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:22:47.158907
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_replica',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('tax_id', sa.String(length=50), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('billing_address', sa.JSON(), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('source_version', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_replica'))
    )
    op.create_table('contact_replica',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('source_version', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_replica'))
    )
    with op.batch_alter_table('contact_replica', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_replica_account_id'), ['account_id'], unique=False)

    op.create_table('inbox',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('routing_key', sa.String(length=200), nullable=False),
    sa.Column('received_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id', name=op.f('pk_inbox'))
    )
    op.create_table('opportunities',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('primary_contact_id', sa.String(length=36), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('close_date', sa.Date(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('forecast_category', sa.String(length=20), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('campaign_id', sa.String(length=36), nullable=True),
    sa.Column('closed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.String(length=500), nullable=True),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities'))
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index('ix_opportunities_account', ['account_id'], unique=False)
        batch_op.create_index('ix_opportunities_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_currency_close', ['currency', 'close_date'], unique=False)
        batch_op.create_index('ix_opportunities_currency_stage', ['currency', 'stage'], unique=False)
        batch_op.create_index('ix_opportunities_owner', ['owner_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('routing_key', sa.String(length=200), nullable=False),
    sa.Column('aggregate_id', sa.String(length=64), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_event_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_unpublished', ['published_at', 'id'], unique=False)

    op.create_table('pipeline_totals',
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('forecast_category', sa.String(length=20), nullable=False),
    sa.Column('deals', sa.Integer(), nullable=False),
    sa.Column('cents', sa.BigInteger(), nullable=False),
    sa.Column('weighted', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('owner_id', 'currency', 'month', 'stage', 'forecast_category', name=op.f('pk_pipeline_totals'))
    )
    with op.batch_alter_table('pipeline_totals', schema=None) as batch_op:
        batch_op.create_index('ix_pipeline_totals_currency_month', ['currency', 'month'], unique=False)

    op.create_table('quotas',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'period', name=op.f('pk_quotas'))
    )
    with op.batch_alter_table('quotas', schema=None) as batch_op:
        batch_op.create_index('ix_quotas_period', ['period', 'currency'], unique=False)

    op.create_table('user_replica',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('manager_id', sa.String(length=36), nullable=True),
    sa.Column('active', sa.Integer(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_replica'))
    )
    op.create_table('opportunity_line_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('opportunity_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_code', sa.String(length=64), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_line_items_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_line_items'))
    )
    with op.batch_alter_table('opportunity_line_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_line_items_opportunity_id'), ['opportunity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('opportunity_line_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_line_items_opportunity_id'))

    op.drop_table('opportunity_line_items')
    op.drop_table('user_replica')
    with op.batch_alter_table('quotas', schema=None) as batch_op:
        batch_op.drop_index('ix_quotas_period')

    op.drop_table('quotas')
    with op.batch_alter_table('pipeline_totals', schema=None) as batch_op:
        batch_op.drop_index('ix_pipeline_totals_currency_month')

    op.drop_table('pipeline_totals')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unpublished')

    op.drop_table('outbox')
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunities_owner')
        batch_op.drop_index('ix_opportunities_currency_stage')
        batch_op.drop_index('ix_opportunities_currency_close')
        batch_op.drop_index('ix_opportunities_created')
        batch_op.drop_index('ix_opportunities_account')

    op.drop_table('opportunities')
    op.drop_table('inbox')
    with op.batch_alter_table('contact_replica', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_replica_account_id'))

    op.drop_table('contact_replica')
    op.drop_table('account_replica')
