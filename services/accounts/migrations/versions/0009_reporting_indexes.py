"""Indexes on who reports to a contact and on an account's subsidiaries

Revision ID: 0009_reporting_indexes
Revises: 0008_imports
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_reporting_indexes'
down_revision = '0008_imports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_contacts_reports_to', 'contacts', ['reports_to_id'], unique=False,
                    postgresql_where=sa.text('reports_to_id IS NOT NULL'),
                    sqlite_where=sa.text('reports_to_id IS NOT NULL'))
    op.create_index('ix_accounts_parent', 'accounts', ['parent_account_id'], unique=False,
                    postgresql_where=sa.text('parent_account_id IS NOT NULL'),
                    sqlite_where=sa.text('parent_account_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_accounts_parent', table_name='accounts')
    op.drop_index('ix_contacts_reports_to', table_name='contacts')
