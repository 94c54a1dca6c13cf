"""token generation on the user replica; inbox index for retention

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_replica') as batch:
        batch.add_column(sa.Column('token_generation', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_inbox_received_at', 'inbox', ['received_at'])


def downgrade() -> None:
    op.drop_index('ix_inbox_received_at', table_name='inbox')
    with op.batch_alter_table('user_replica') as batch:
        batch.drop_column('token_generation')
