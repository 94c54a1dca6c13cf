"""The search index on SQLite (local mode): an FTS5 table whose tokenizer
folds case and accents (unicode61, remove_diacritics 2), ranked with bm25;
typos are matched against FTS5's own vocabulary with rapidfuzz (local data
is small enough to compare a word with every known word of its first letter).
"""
from __future__ import annotations

from rapidfuzz import fuzz, process
from sqlalchemy import bindparam, text

from gateway.search.documents import Document
from gateway.search.index import CANDIDATES, SearchIndex
from gateway.search.query import MIN_TYPO_LENGTH, Query, fts5_match

# How close a known word must be to stand for a word typed wrong (0..100).
TYPO_SCORE = 75

MATCH = text(f"""
WITH hits AS (
  SELECT rowid, bm25(search_fts, 10.0, 4.0, 2.0) AS relevance FROM search_fts WHERE search_fts MATCH :match
  ORDER BY rank LIMIT {CANDIDATES}
)
SELECT e.type, e.id, e.title, e.subtitle, e.account_id,
       CASE WHEN e.title_key = :key THEN 20 WHEN e.title_key LIKE :prefix ESCAPE '\\' THEN 10 ELSE 0 END
       - h.relevance AS score
FROM hits h JOIN search_entries e ON e.rowid = h.rowid
WHERE e.hidden IS NULL AND e.type IN :types
ORDER BY score DESC, e.title, e.id LIMIT :limit
""").bindparams(bindparam("types", expanding=True))


class SqliteIndex(SearchIndex):

    def _rowid(self, session, kind: str, ident: str) -> int | None:
        return session.scalar(text("SELECT rowid FROM search_entries WHERE type = :type AND id = :id"),
                              {"type": kind, "id": ident})

    def _store_words(self, session, doc: Document) -> None:
        rowid = self._rowid(session, doc.type, doc.id)
        session.execute(text("DELETE FROM search_fts WHERE rowid = :rowid"), {"rowid": rowid})
        session.execute(text("INSERT INTO search_fts (rowid, title, terms, keys) "
                             "VALUES (:rowid, :title, :terms, :keys)"),
                        {"rowid": rowid, "title": doc.title_words, "terms": doc.terms, "keys": doc.keys})

    def _drop_words(self, session, kind: str, ident: str) -> None:
        rowid = self._rowid(session, kind, ident)
        if rowid is not None:
            session.execute(text("DELETE FROM search_fts WHERE rowid = :rowid"), {"rowid": rowid})

    def _matches(self, session, query: Query) -> list:
        return list(session.execute(MATCH, {
            "match": fts5_match(query), "types": list(query.types), "key": query.title_key,
            "prefix": self.prefix_pattern(query), "limit": query.limit}))

    def _close_words(self, session, word: str) -> list[str]:
        known = list(session.scalars(text(
            "SELECT term FROM search_fts_vocab WHERE term >= :first AND term < :after AND length(term) >= :shortest"),
            {"first": word[0], "after": chr(ord(word[0]) + 1), "shortest": MIN_TYPO_LENGTH}))
        found = process.extract(word, known, scorer=fuzz.ratio, score_cutoff=TYPO_SCORE, limit=5)
        return [term for term, _score, _index in found]
