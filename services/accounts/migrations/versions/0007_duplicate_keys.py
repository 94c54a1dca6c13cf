"""duplicate detection: comparison keys on accounts and contacts (normalised e-mail, phone, names, tax id, domain)

Revision ID: 0007_duplicate_keys
Revises: 0006_merges
"""
from alembic import op
import sqlalchemy as sa

from shared import normalize


revision = '0007_duplicate_keys'
down_revision = '0006_merges'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('phone_key', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('name_key', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_contacts_email_key', ['email_key'], unique=False)
        batch_op.create_index('ix_contacts_phone_key', ['phone_key'], unique=False)
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_key', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('domain_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('name_key', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_accounts_tax_key', ['tax_key'], unique=False)
        batch_op.create_index('ix_accounts_domain_key', ['domain_key'], unique=False)
    _backfill()


def _backfill() -> None:
    """The keys of the records already there (the application keeps them from now on)."""
    bind = op.get_bind()
    contacts = sa.table('contacts', sa.column('id'), sa.column('email'), sa.column('phone'), sa.column('first_name'),
                        sa.column('last_name'), sa.column('email_key'), sa.column('phone_key'), sa.column('name_key'))
    for row in bind.execute(sa.select(contacts.c.id, contacts.c.email, contacts.c.phone, contacts.c.first_name,
                                      contacts.c.last_name)).all():
        bind.execute(contacts.update().where(contacts.c.id == row.id).values(
            email_key=normalize.email_key(row.email), phone_key=normalize.phone_key(row.phone),
            name_key=normalize.person_name_key(row.first_name, row.last_name)))
    accounts = sa.table('accounts', sa.column('id'), sa.column('name'), sa.column('website'), sa.column('tax_id'),
                        sa.column('country'), sa.column('tax_key'), sa.column('domain_key'), sa.column('name_key'))
    for row in bind.execute(sa.select(accounts.c.id, accounts.c.name, accounts.c.website, accounts.c.tax_id,
                                      accounts.c.country)).all():
        bind.execute(accounts.update().where(accounts.c.id == row.id).values(
            tax_key=normalize.tax_key(row.tax_id, row.country), domain_key=normalize.website_domain(row.website),
            name_key=normalize.company_name_key(row.name)))


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_domain_key')
        batch_op.drop_index('ix_accounts_tax_key')
        batch_op.drop_column('name_key')
        batch_op.drop_column('domain_key')
        batch_op.drop_column('tax_key')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_phone_key')
        batch_op.drop_index('ix_contacts_email_key')
        batch_op.drop_column('name_key')
        batch_op.drop_column('phone_key')
        batch_op.drop_column('email_key')
