"""event history: every CloudEvent, kept for good; the timeline becomes a view over it

The timeline's rows become events of the history (rebuilt CloudEvents: what
the timeline kept, with source /cadena/<service>), then its table goes.

Revision ID: 0007_event_history
Revises: 0006_search
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0007_event_history'
down_revision = '0006_search'
branch_labels = None
depends_on = None

CHUNK = 1000

history = sa.table(
    'event_history', sa.column('event_id', sa.String), sa.column('type', sa.String),
    sa.column('subject', sa.String), sa.column('account_id', sa.String),
    sa.column('time', shared.db.UTCDateTime()), sa.column('body', sa.JSON))
timeline = sa.table(
    'timeline', sa.column('event_id', sa.String), sa.column('account_id', sa.String), sa.column('type', sa.String),
    sa.column('time', shared.db.UTCDateTime()), sa.column('service', sa.String), sa.column('subject', sa.String),
    sa.column('summary', sa.Text), sa.column('data', sa.JSON))


def upgrade() -> None:
    op.create_table('event_history',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('time', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_event_history'))
    )
    with op.batch_alter_table('event_history', schema=None) as batch_op:
        batch_op.create_index('ix_event_history_time', ['time', 'event_id'], unique=False)
        batch_op.create_index('ix_event_history_type', ['type', 'time', 'event_id'], unique=False)
        batch_op.create_index('ix_event_history_subject', ['subject', 'time', 'event_id'], unique=False)
        batch_op.create_index('ix_event_history_account', ['account_id', 'time', 'event_id'], unique=False)
    _copy(timeline, history, _as_event)
    with op.batch_alter_table('timeline', schema=None) as batch_op:
        batch_op.drop_index('ix_timeline_account_time')
    op.drop_table('timeline')


def _as_event(row) -> dict:
    body = {"specversion": "1.0", "id": row.event_id, "source": f"/cadena/{row.service}", "type": row.type,
            "time": row.time.isoformat(), "datacontenttype": "application/json", "dataversion": "1",
            "data": row.data}
    if row.subject is not None:
        body["subject"] = row.subject
    return {"event_id": row.event_id, "type": row.type, "subject": row.subject, "account_id": row.account_id,
            "time": row.time, "body": body}


def _copy(source, target, convert, where=None) -> None:
    bind = op.get_bind()
    stmt = sa.select(source)
    if where is not None:
        stmt = stmt.where(where)
    # Streamed a chunk at a time: a long timeline never has to fit in memory.
    for rows in bind.execute(stmt.execution_options(yield_per=CHUNK)).partitions():
        bind.execute(sa.insert(target), [convert(row) for row in rows])


def _as_entry(row) -> dict:
    from gateway.timeline import summarize

    event = row.body
    return {"event_id": row.event_id, "account_id": row.account_id, "type": row.type, "time": row.time,
            "service": row.type.split(".", 1)[0], "subject": row.subject, "summary": summarize(event),
            "data": event.get("data") or {}}


def downgrade() -> None:
    op.create_table('timeline',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=200), nullable=False),
    sa.Column('time', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('service', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_timeline'))
    )
    with op.batch_alter_table('timeline', schema=None) as batch_op:
        batch_op.create_index('ix_timeline_account_time', ['account_id', 'time', 'event_id'], unique=False)
    _copy(history, timeline, _as_entry, history.c.account_id.is_not(None))
    op.drop_table('event_history')
