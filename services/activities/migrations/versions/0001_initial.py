"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:05:18.993884
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activities',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('starts_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('remind_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('location', sa.String(length=300), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('contact_id', sa.String(length=36), nullable=True),
    sa.Column('opportunity_id', sa.String(length=36), nullable=True),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('agreements', sa.JSON(), nullable=True),
    sa.Column('completed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('agenda_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminder_sent_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_account_agenda', ['account_id', 'agenda_at'], unique=False)
        batch_op.create_index('ix_activities_case', ['case_id'], unique=False)
        batch_op.create_index('ix_activities_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_activities_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_activities_opportunity', ['opportunity_id'], unique=False)
        batch_op.create_index('ix_activities_owner_agenda', ['owner_id', 'agenda_at', 'id'], unique=False)
        batch_op.create_index('ix_activities_reminder_due', ['remind_at'], unique=False, postgresql_where=sa.text('reminder_sent_at IS NULL AND deleted_at IS NULL'), sqlite_where=sa.text('reminder_sent_at IS NULL AND deleted_at IS NULL'))

    op.create_table('calendar_feeds',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('token', sa.String(length=100), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feeds'))
    )
    op.create_table('inbox',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('routing_key', sa.String(length=200), nullable=False),
    sa.Column('received_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id', name=op.f('pk_inbox'))
    )
    op.create_table('linked_records',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('label', sa.String(length=300), nullable=True),
    sa.Column('address', sa.String(length=400), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'id', name=op.f('pk_linked_records'))
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


def downgrade() -> None:
    op.drop_table('user_replica')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unpublished')

    op.drop_table('outbox')
    op.drop_table('linked_records')
    op.drop_table('inbox')
    op.drop_table('calendar_feeds')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_reminder_due', postgresql_where=sa.text('reminder_sent_at IS NULL AND deleted_at IS NULL'), sqlite_where=sa.text('reminder_sent_at IS NULL AND deleted_at IS NULL'))
        batch_op.drop_index('ix_activities_owner_agenda')
        batch_op.drop_index('ix_activities_opportunity')
        batch_op.drop_index('ix_activities_created')
        batch_op.drop_index('ix_activities_contact')
        batch_op.drop_index('ix_activities_case')
        batch_op.drop_index('ix_activities_account_agenda')

    op.drop_table('activities')
