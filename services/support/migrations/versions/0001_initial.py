"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:04:21.044722
"""
from datetime import datetime, timezone

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
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_replica'))
    )
    op.create_table('cases',
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('contact_id', sa.String(length=36), nullable=True),
    sa.Column('requester_email', sa.String(length=320), nullable=True),
    sa.Column('requester_name', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('assignee_id', sa.String(length=36), nullable=True),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('first_response_due_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolution_due_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_responded_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_breached_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_breached_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('satisfaction_score', sa.Integer(), nullable=True),
    sa.Column('satisfaction_comment', sa.Text(), nullable=True),
    sa.Column('rated_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('inbound_message_id', sa.String(length=300), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('inbound_message_id', name=op.f('uq_cases_inbound_message_id')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_account', ['account_id'], unique=False)
        batch_op.create_index('ix_cases_assignee', ['assignee_id'], unique=False)
        batch_op.create_index('ix_cases_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_first_response_clock', ['first_response_due_at'], unique=False, postgresql_where=sa.text("deleted_at IS NULL AND first_responded_at IS NULL AND first_response_breached_at IS NULL AND status IN ('new', 'open', 'pending')"), sqlite_where=sa.text("deleted_at IS NULL AND first_responded_at IS NULL AND first_response_breached_at IS NULL AND status IN ('new', 'open', 'pending')"))
        batch_op.create_index('ix_cases_resolution_clock', ['resolution_due_at'], unique=False, postgresql_where=sa.text("deleted_at IS NULL AND resolution_breached_at IS NULL AND status IN ('new', 'open', 'pending')"), sqlite_where=sa.text("deleted_at IS NULL AND resolution_breached_at IS NULL AND status IN ('new', 'open', 'pending')"))
        batch_op.create_index('ix_cases_status', ['status'], unique=False)

    op.create_table('contact_replica',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_replica'))
    )
    with op.batch_alter_table('contact_replica', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_replica_email'), ['email'], unique=False)

    op.create_table('counters',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
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

    op.create_table('sla_policies',
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('first_response_seconds', sa.Integer(), nullable=False),
    sa.Column('resolution_seconds', sa.Integer(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('priority', name=op.f('pk_sla_policies'))
    )
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
    op.create_table('case_comments',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('author_type', sa.String(length=10), nullable=False),
    sa.Column('author_id', sa.String(length=36), nullable=True),
    sa.Column('author_email', sa.String(length=320), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_comments_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_comments')),
    sa.UniqueConstraint('message_id', name=op.f('uq_case_comments_message_id'))
    )
    with op.batch_alter_table('case_comments', schema=None) as batch_op:
        batch_op.create_index('ix_case_comments_case', ['case_id', 'created_at', 'id'], unique=False)

    # The case-number counter and the default SLA policy (seconds; see rules.DEFAULT_POLICY).
    counters = sa.table('counters', sa.column('name', sa.String), sa.column('value', sa.BigInteger))
    op.bulk_insert(counters, [{'name': 'cases', 'value': 0}])
    policies = sa.table('sla_policies', sa.column('priority', sa.String), sa.column('first_response_seconds', sa.Integer),
                        sa.column('resolution_seconds', sa.Integer), sa.column('updated_at', shared.db.UTCDateTime()))
    now = datetime.now(timezone.utc)
    op.bulk_insert(policies, [
        {'priority': 'urgent', 'first_response_seconds': 3600, 'resolution_seconds': 4 * 3600, 'updated_at': now},
        {'priority': 'high', 'first_response_seconds': 4 * 3600, 'resolution_seconds': 24 * 3600, 'updated_at': now},
        {'priority': 'normal', 'first_response_seconds': 8 * 3600, 'resolution_seconds': 72 * 3600, 'updated_at': now},
        {'priority': 'low', 'first_response_seconds': 24 * 3600, 'resolution_seconds': 120 * 3600, 'updated_at': now},
    ])



def downgrade() -> None:
    with op.batch_alter_table('case_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_case_comments_case')

    op.drop_table('case_comments')
    op.drop_table('user_replica')
    op.drop_table('sla_policies')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unpublished')

    op.drop_table('outbox')
    op.drop_table('inbox')
    op.drop_table('counters')
    with op.batch_alter_table('contact_replica', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_replica_email'))

    op.drop_table('contact_replica')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status')
        batch_op.drop_index('ix_cases_resolution_clock', postgresql_where=sa.text("deleted_at IS NULL AND resolution_breached_at IS NULL AND status IN ('new', 'open', 'pending')"), sqlite_where=sa.text("deleted_at IS NULL AND resolution_breached_at IS NULL AND status IN ('new', 'open', 'pending')"))
        batch_op.drop_index('ix_cases_first_response_clock', postgresql_where=sa.text("deleted_at IS NULL AND first_responded_at IS NULL AND first_response_breached_at IS NULL AND status IN ('new', 'open', 'pending')"), sqlite_where=sa.text("deleted_at IS NULL AND first_responded_at IS NULL AND first_response_breached_at IS NULL AND status IN ('new', 'open', 'pending')"))
        batch_op.drop_index('ix_cases_created')
        batch_op.drop_index('ix_cases_assignee')
        batch_op.drop_index('ix_cases_account')

    op.drop_table('cases')
    op.drop_table('account_replica')
