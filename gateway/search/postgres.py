"""The search index on Postgres: full-text search with a GIN index.

Each record's words go into a tsvector (title weighted A, other words B,
digit keys C) through the `cadena_search` text search configuration, which
folds case and accents (`unaccent`); queries match every word as a prefix.
A lexicon of the indexed words (`search_words`) with a trigram index
(`pg_trgm`) finds the known words closest to a word typed wrong — the
approach the pg_trgm documentation recommends, since comparing a typo with
a short list of distinct words is far cheaper than with every record.

Ranking reads each candidate row, so a text that matches a great many
records ranks the first CANDIDATES found; the records whose title starts
with the text are always among them (a range over an index of the folded
titles), so the best matches are never left out.
"""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from shared.db import utcnow
from gateway.search.documents import Document
from gateway.search.index import CANDIDATES, SearchIndex
from gateway.search.query import MIN_TYPO_LENGTH, Query, tsquery

CONFIG = "cadena_search"
LAST_CHARACTER = "\U0010ffff"  # sorts after every other in the "C" collation: [key, key + this) = starts with key

# put_many in one statement: the rows (version-guarded, never over a
# tombstone), their words, and the new words in the lexicon; the rows put.
PUT_MANY = text(f"""
WITH d AS (
  SELECT * FROM unnest(CAST(:types AS text[]), CAST(:ids AS text[]), CAST(:titles AS text[]),
                       CAST(:subtitles AS text[]), CAST(:title_keys AS text[]), CAST(:account_ids AS text[]),
                       CAST(:versions AS integer[]), CAST(:facts AS text[]), CAST(:words AS text[]),
                       CAST(:terms AS text[]), CAST(:keys AS text[]))
    AS d(type, id, title, subtitle, title_key, account_id, version, facts, words, terms, keys)
), put AS (
  INSERT INTO search_entries AS e (type, id, title, subtitle, title_key, account_id, version, facts, updated_at,
                                   document)
  SELECT type, id, title, subtitle, title_key, account_id, version, CAST(facts AS json), CAST(:now AS timestamptz),
         setweight(to_tsvector('{CONFIG}', words), 'A') || setweight(to_tsvector('{CONFIG}', terms), 'B')
         || setweight(to_tsvector('{CONFIG}', keys), 'C')
  FROM d
  ON CONFLICT (type, id) DO UPDATE SET
    title = excluded.title, subtitle = excluded.subtitle, title_key = excluded.title_key,
    account_id = excluded.account_id, version = excluded.version, facts = excluded.facts,
    updated_at = excluded.updated_at, document = excluded.document
  WHERE e.hidden IS NULL AND (e.version IS NULL OR excluded.version IS NULL OR excluded.version >= e.version)
  RETURNING e.type, e.id, e.document
), lexicon AS (
  INSERT INTO search_words (word)
  SELECT DISTINCT w FROM put, unnest(tsvector_to_array(put.document)) AS w
  WHERE length(w) >= {MIN_TYPO_LENGTH} AND w !~ '^[0-9]'
  ORDER BY w  -- one order for every writer: two workers adding the same words cannot deadlock
  ON CONFLICT DO NOTHING
)
SELECT type, id FROM put
""")


MATCH = text(f"""
WITH q AS (SELECT to_tsquery('{CONFIG}', :tsq) AS q),
hits AS (
  (SELECT e.type, e.id, e.title, e.subtitle, e.account_id, e.title_key, e.document
   FROM search_entries e, q
   WHERE (e.title_key COLLATE "C") >= :key AND (e.title_key COLLATE "C") < :key_end AND e.hidden IS NULL
     AND e.type = ANY(:types) AND e.document @@ q.q
   LIMIT :limit)
  UNION ALL
  (SELECT e.type, e.id, e.title, e.subtitle, e.account_id, e.title_key, e.document
   FROM search_entries e, q WHERE e.document @@ q.q AND e.type = ANY(:types)
   LIMIT :candidates)
), scored AS (
  SELECT DISTINCT ON (h.type, h.id) h.type, h.id, h.title, h.subtitle, h.account_id,
         CASE WHEN h.title_key = :key THEN 20 WHEN h.title_key LIKE :prefix THEN 10 ELSE 0 END
         + ts_rank(h.document, q.q) AS score
  FROM hits h, q ORDER BY h.type, h.id
)
SELECT type, id, title, subtitle, account_id, score FROM scored ORDER BY score DESC, title, id LIMIT :limit
""")

# The known words a prefix begins, when there are few: matching those words
# exactly reads the index a third of the time a prefix match does.
EXPAND = text("""SELECT word FROM search_words WHERE word >= :word AND word < :word_end ORDER BY word LIMIT :most""")
MAX_EXPANSIONS = 20

CLOSE = text("""
SELECT word FROM search_words WHERE word % :word ORDER BY similarity(word, :word) DESC, word LIMIT 5
""")


class PostgresIndex(SearchIndex):
    dialect = postgresql

    def put_many(self, session, docs: list[Document]) -> list[Document]:
        """One statement for the rows and their words (see PUT_MANY)."""
        latest = self.newest(docs)
        rows = list(latest.values())
        stored = {(kind, ident) for kind, ident in session.execute(PUT_MANY, {
            "types": [d.type for d in rows], "ids": [d.id for d in rows], "titles": [d.title[:400] for d in rows],
            "subtitles": [d.subtitle[:400] for d in rows], "title_keys": [d.title_key[:400] for d in rows],
            "account_ids": [d.account_id for d in rows], "versions": [d.version for d in rows],
            "facts": [json.dumps(d.facts) for d in rows], "words": [d.title_words for d in rows],
            "terms": [d.terms for d in rows], "keys": [d.keys for d in rows], "now": utcnow()})}
        return [doc for key, doc in latest.items() if key in stored]

    def _drop_words(self, session, kind: str, ident: str) -> None:
        session.execute(text("UPDATE search_entries SET document = NULL WHERE type = :type AND id = :id"),
                        {"type": kind, "id": ident})

    def _matches(self, session, query: Query) -> list:
        if not query.phone_keys:
            query = query.with_expansions({w: self._expansions(session, w) for w in query.words
                                           if query.as_prefix(w) and len(w) >= MIN_TYPO_LENGTH and w[0].isalpha()})
        return list(session.execute(MATCH, {
            "tsq": tsquery(query), "types": list(query.types), "candidates": CANDIDATES, "key": query.title_key,
            "key_end": query.title_key + LAST_CHARACTER, "prefix": self.prefix_pattern(query),
            "limit": query.limit}))

    @staticmethod
    def _expansions(session, word: str) -> list[str]:
        """The lexicon's words that begin with ``word`` (none when there are too many: the prefix is kept)."""
        found = list(session.scalars(EXPAND, {"word": word, "word_end": word + LAST_CHARACTER,
                                              "most": MAX_EXPANSIONS + 1}))
        return found if len(found) <= MAX_EXPANSIONS else []

    def _close_words(self, session, word: str) -> list[str]:
        if not _has_trigrams(session):
            return []
        return list(session.scalars(CLOSE, {"word": word}))


_TRIGRAMS: dict[str, bool] = {}


def _has_trigrams(session) -> bool:
    """Whether pg_trgm was installed (the migration skips it where it is not available)."""
    url = str(session.get_bind().url)
    if url not in _TRIGRAMS:
        _TRIGRAMS[url] = session.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")) > 0
    return _TRIGRAMS[url]
