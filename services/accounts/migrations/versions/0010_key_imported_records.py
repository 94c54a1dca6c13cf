"""duplicate detection: the comparison keys of records an import wrote before imports set them

Revision ID: 0010_key_imported_records
Revises: 0009_reporting_indexes
"""
from alembic import op
import sqlalchemy as sa

from shared import normalize


revision = '0010_key_imported_records'
down_revision = '0009_reporting_indexes'
branch_labels = None
depends_on = None

CHUNK = 1000


def upgrade() -> None:
    """Imports wrote their rows without the keys the application keeps on every
    other write; a record without any is keyed now, a thousand at a time."""
    bind = op.get_bind()
    contacts = sa.table('contacts', sa.column('id'), sa.column('email'), sa.column('phone'), sa.column('first_name'),
                        sa.column('last_name'), sa.column('email_key'), sa.column('phone_key'), sa.column('name_key'))
    unkeyed = sa.and_(contacts.c.email_key.is_(None), contacts.c.phone_key.is_(None), contacts.c.name_key.is_(None))
    rows = bind.execute(sa.select(contacts.c.id, contacts.c.email, contacts.c.phone, contacts.c.first_name,
                                  contacts.c.last_name).where(unkeyed)).all()
    _update(bind, contacts, [{"b_id": r.id, "email_key": normalize.email_key(r.email),
                              "phone_key": normalize.phone_key(r.phone),
                              "name_key": normalize.person_name_key(r.first_name, r.last_name)} for r in rows])
    accounts = sa.table('accounts', sa.column('id'), sa.column('name'), sa.column('website'), sa.column('tax_id'),
                        sa.column('country'), sa.column('tax_key'), sa.column('domain_key'), sa.column('name_key'))
    unkeyed = sa.and_(accounts.c.tax_key.is_(None), accounts.c.domain_key.is_(None), accounts.c.name_key.is_(None))
    rows = bind.execute(sa.select(accounts.c.id, accounts.c.name, accounts.c.website, accounts.c.tax_id,
                                  accounts.c.country).where(unkeyed)).all()
    _update(bind, accounts, [{"b_id": r.id, "tax_key": normalize.tax_key(r.tax_id, r.country),
                              "domain_key": normalize.website_domain(r.website),
                              "name_key": normalize.company_name_key(r.name)} for r in rows])


def _update(bind, table, keys: list[dict]) -> None:
    if not keys:
        return
    names = [k for k in keys[0] if k != "b_id"]
    stmt = table.update().where(table.c.id == sa.bindparam("b_id")).values({n: sa.bindparam(f"k_{n}") for n in names})
    params = [{"b_id": k["b_id"], **{f"k_{n}": k[n] for n in names}} for k in keys]
    for start in range(0, len(params), CHUNK):
        bind.execute(stmt, params[start:start + CHUNK])


def downgrade() -> None:
    pass  # the keys are what the application would have written
