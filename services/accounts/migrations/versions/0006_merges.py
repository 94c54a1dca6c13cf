"""merges: a merged account or contact points to the record it was merged into

Revision ID: 0006_merges
Revises: 0005_field_history
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0006_merges'
down_revision = '0005_field_history'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite: a copy would not carry the
    # expression index on contacts' e-mails).
    for table in ('accounts', 'contacts'):
        op.add_column(table, sa.Column('merged_into', sa.String(length=36), nullable=True))
        op.add_column(table, sa.Column('merged_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        op.create_index(f'ix_{table}_merged_into', table, ['merged_into'])


def downgrade() -> None:
    for table in ('accounts', 'contacts'):
        op.drop_index(f'ix_{table}_merged_into', table_name=table)
        op.drop_column(table, 'merged_at')  # Postgres, and SQLite 3.35+
        op.drop_column(table, 'merged_into')
