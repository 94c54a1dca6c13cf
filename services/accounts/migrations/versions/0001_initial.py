"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 10:48:22.792014
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_view_cases',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('breached', sa.Boolean(), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_account_view_cases'))
    )
    with op.batch_alter_table('account_view_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_view_cases_account_id'), ['account_id'], unique=False)
    op.create_table('account_view_opportunities',
    sa.Column('opportunity_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('opportunity_id', name=op.f('pk_account_view_opportunities'))
    )
    with op.batch_alter_table('account_view_opportunities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_view_opportunities_account_id'), ['account_id'], unique=False)

    op.create_table('account_views',
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('open_cases', sa.Integer(), nullable=False),
    sa.Column('breached_cases', sa.Integer(), nullable=False),
    sa.Column('low_satisfaction', sa.Integer(), nullable=False),
    sa.Column('open_pipeline', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('won_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('won_deals', sa.Integer(), nullable=False),
    sa.Column('last_won_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_account_views'))
    )
    op.create_table('accounts',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('segment', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('website', sa.String(length=300), nullable=True),
    sa.Column('tax_id', sa.String(length=50), nullable=True),
    sa.Column('billing_address', sa.JSON(), nullable=True),
    sa.Column('annual_revenue_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('annual_revenue_currency', sa.String(length=3), nullable=True),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('parent_account_id', sa.String(length=36), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['parent_account_id'], ['accounts.id'], name=op.f('fk_accounts_parent_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index('ix_accounts_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_accounts_name', ['name'], unique=False)
        batch_op.create_index('ix_accounts_owner', ['owner_id'], unique=False)

    op.create_table('inbox',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('routing_key', sa.String(length=200), nullable=False),
    sa.Column('received_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id', name=op.f('pk_inbox'))
    )
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
    op.create_table('contacts',
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('nickname', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('title', sa.String(length=150), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('reports_to_id', sa.String(length=36), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=30), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('lifecycle_changed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_contacts_account_id_accounts')),
    sa.ForeignKeyConstraint(['reports_to_id'], ['contacts.id'], name=op.f('fk_contacts_reports_to_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_account', ['account_id'], unique=False)
        batch_op.create_index('ix_contacts_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_contacts_owner', ['owner_id'], unique=False)
    # One live contact per address (autogenerate cannot see expression indexes).
    op.create_index('uq_contacts_email_live', 'contacts', [sa.text('lower(email)')], unique=True,
                    postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))



def downgrade() -> None:
    op.drop_table('account_view_cases')
    op.drop_index('uq_contacts_email_live', table_name='contacts')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_owner')
        batch_op.drop_index('ix_contacts_created')
        batch_op.drop_index('ix_contacts_account')

    op.drop_table('contacts')
    op.drop_table('user_replica')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unpublished')

    op.drop_table('outbox')
    op.drop_table('inbox')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_owner')
        batch_op.drop_index('ix_accounts_name')
        batch_op.drop_index('ix_accounts_created')

    op.drop_table('accounts')
    op.drop_table('account_views')
    with op.batch_alter_table('account_view_opportunities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_view_opportunities_account_id'))

    op.drop_table('account_view_opportunities')
