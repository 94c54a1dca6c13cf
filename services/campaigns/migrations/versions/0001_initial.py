"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:05:14.871013
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
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('segment', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('annual_revenue_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('annual_revenue_currency', sa.String(length=3), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_replica'))
    )
    with op.batch_alter_table('account_replica', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_replica_country'), ['country'], unique=False)

    op.create_table('campaigns',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('starts_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('budget_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('budget_currency', sa.String(length=3), nullable=True),
    sa.Column('actual_cost_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('actual_cost_currency', sa.String(length=3), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=False),
    sa.Column('templates', sa.JSON(), nullable=False),
    sa.Column('launched_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_campaigns_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_campaigns_owner', ['owner_id'], unique=False)

    op.create_table('contact_replica',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=30), nullable=True),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('lifecycle_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('known', sa.Boolean(), nullable=False),
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
    op.create_table('opportunity_replica',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('campaign_id', sa.String(length=36), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('won_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_replica'))
    )
    with op.batch_alter_table('opportunity_replica', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_replica_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunity_replica_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('opt_outs',
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('campaign_id', sa.String(length=36), nullable=True),
    sa.Column('opted_out_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_opt_outs'))
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
    op.create_table('campaign_members',
    sa.Column('campaign_id', sa.String(length=36), nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivery', sa.String(length=10), nullable=True),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('claimed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('template', sa.String(length=30), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('responded_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('converted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opted_out_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_members_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'contact_id', name=op.f('pk_campaign_members'))
    )
    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_members_account', ['account_id'], unique=False)
        batch_op.create_index('ix_campaign_members_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_campaign_members_delivery', ['delivery', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_campaign_members_page', ['campaign_id', 'created_at', 'contact_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_members_page')
        batch_op.drop_index('ix_campaign_members_delivery')
        batch_op.drop_index('ix_campaign_members_contact')
        batch_op.drop_index('ix_campaign_members_account')

    op.drop_table('campaign_members')
    op.drop_table('user_replica')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unpublished')

    op.drop_table('outbox')
    op.drop_table('opt_outs')
    with op.batch_alter_table('opportunity_replica', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_replica_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_opportunity_replica_account_id'))

    op.drop_table('opportunity_replica')
    op.drop_table('inbox')
    with op.batch_alter_table('contact_replica', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_replica_account_id'))

    op.drop_table('contact_replica')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_campaigns_owner')
        batch_op.drop_index('ix_campaigns_created')

    op.drop_table('campaigns')
    with op.batch_alter_table('account_replica', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_replica_country'))

    op.drop_table('account_replica')
