"""search index: one table across accounts, contacts, deals, cases and activities, fed by events

Postgres: a tsvector column with a GIN index, words folded by a text search
configuration that runs `unaccent` (CREATE EXTENSION IF NOT EXISTS), and a
lexicon of the indexed words with a `pg_trgm` index for typos. SQLite: an
FTS5 table (unicode61 with remove_diacritics) and its vocabulary.

Revision ID: 0006_search
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0006_search'
down_revision = '0005'
branch_labels = None
depends_on = None

MAPPED = "asciiword, asciihword, hword_asciipart, word, hword, hword_part, numword, numhword, hword_numpart"


def upgrade() -> None:
    op.create_table('search_entries',
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=400), nullable=False),
    sa.Column('subtitle', sa.String(length=400), nullable=False),
    sa.Column('title_key', sa.String(length=400), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('hidden', sa.String(length=16), nullable=True),
    sa.Column('merged_into', sa.String(length=64), nullable=True),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('type', 'id', name=op.f('pk_search_entries'))
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres()
    else:
        op.execute('CREATE VIRTUAL TABLE search_fts USING fts5(title, terms, keys, '
                   'tokenize = "unicode61 remove_diacritics 2")')
        op.execute("CREATE VIRTUAL TABLE search_fts_vocab USING fts5vocab(search_fts, 'row')")


def _available(name: str) -> bool:
    found = op.get_bind().execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = :n"), {"n": name})
    return found.first() is not None


def _postgres() -> None:
    unaccent = _available("unaccent")
    if unaccent:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE TEXT SEARCH CONFIGURATION cadena_search (COPY = pg_catalog.simple)")
    if unaccent:  # else lower case only: accents then matter (docs/search.md says so)
        op.execute(f"ALTER TEXT SEARCH CONFIGURATION cadena_search ALTER MAPPING FOR {MAPPED} WITH unaccent, simple")
    op.execute("ALTER TABLE search_entries ADD COLUMN document tsvector")
    op.execute("CREATE INDEX ix_search_entries_document ON search_entries USING gin (document)")
    op.execute('CREATE INDEX ix_search_entries_title_key ON search_entries ((title_key COLLATE "C")) '
               'WHERE hidden IS NULL')
    op.execute('CREATE TABLE search_words (word text COLLATE "C" PRIMARY KEY)')  # "C": prefixes are ranges
    if _available("pg_trgm"):  # else no typo tolerance
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_search_words_trgm ON search_words USING gin (word gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS search_words")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS cadena_search")
    else:
        op.execute("DROP TABLE IF EXISTS search_fts_vocab")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table('search_entries')
