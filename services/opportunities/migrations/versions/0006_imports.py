"""CSV imports: the jobs, the rows they refused and the records they created

Revision ID: 0006_imports
Revises: 0005_field_history
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0006_imports'
down_revision = '0005_field_history'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('match', sa.String(length=50), nullable=True),
    sa.Column('header', sa.JSON(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('delimiter', sa.String(length=1), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('importer_id', sa.String(length=36), nullable=False),
    sa.Column('importer_role', sa.String(length=20), nullable=False),
    sa.Column('importer_team', sa.String(length=100), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    op.create_index('ix_imports_status', 'imports', ['status', 'created_at'])
    op.create_table('import_errors',
    sa.Column('import_id', sa.String(length=36), nullable=False),
    sa.Column('row', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('cells', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_errors_import_id_imports'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', 'row', name=op.f('pk_import_errors'))
    )
    op.create_table('import_records',
    sa.Column('import_id', sa.String(length=36), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_records_import_id_imports'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', 'record_id', name=op.f('pk_import_records'))
    )


def downgrade() -> None:
    op.drop_table('import_records')
    op.drop_table('import_errors')
    op.drop_index('ix_imports_status', table_name='imports')
    op.drop_table('imports')
