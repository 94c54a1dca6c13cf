"""The search index behind one small interface, with an engine per database
(gateway/search/postgres.py, gateway/search/sqlite.py).

The index is kept by the gateway's worker from the event stream (the "#"
handler that also keeps the timeline): every .created/.updated event of a
record puts its document, .deleted hides it, a merge hides the merged ones.
A record's row carries the version the event had, so an older event
delivered late never overwrites a newer one; a hidden record is a tombstone
that no late event brings back.
"""
from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import sqlite

from shared.db import utcnow
from gateway.models import SearchEntry
from gateway.search.documents import Document, Patch, Removal, subtitle
from gateway.search.query import Query

# Rows ranked per query: a text that matches more than this (a common
# surname, a one-letter prefix) is ranked among the first this many found.
CANDIDATES = 500

_PUT: dict[str, object] = {}  # the put statement, built once per dialect


class SearchIndex:
    """What both engines do the same way: the rows, versions and tombstones.
    An engine adds where the words go (``_store_words``, or all of
    ``put_many`` in one statement as Postgres does; ``_drop_words``),
    how they are matched (``_matches``) and which known words are close to a
    word typed wrong (``_close_words``)."""

    dialect = sqlite

    # -- writing --------------------------------------------------------------------------------------------

    def apply(self, session, change: Document | Patch | Removal) -> None:
        if isinstance(change, Document):
            self.put(session, change)
        elif isinstance(change, Removal):
            self.remove(session, change)
        else:
            self.patch(session, change)

    def apply_many(self, session, changes: list) -> None:
        """:meth:`apply` of each change in order; consecutive documents are put together."""
        documents: list[Document] = []
        for change in changes:
            if isinstance(change, Document):
                documents.append(change)
                continue
            if documents:
                self.put_many(session, documents)
                documents = []
            self.apply(session, change)
        if documents:
            self.put_many(session, documents)

    def put(self, session, doc: Document) -> bool:
        """Index a record (insert or replace); False when a newer version or a tombstone is already there."""
        return bool(self.put_many(session, [doc]))

    def put_many(self, session, docs: list[Document]) -> list[Document]:
        """:meth:`put` of each document in order, in one statement; the documents stored."""
        latest = self.newest(docs)
        now = utcnow()
        rows = [{"type": doc.type, "id": doc.id, "title": doc.title[:400], "subtitle": doc.subtitle[:400],
                 "title_key": doc.title_key[:400], "account_id": doc.account_id, "version": doc.version,
                 "facts": doc.facts, "hidden": None, "merged_into": None, "updated_at": now}
                for doc in latest.values()]
        stored = {(row.type, row.id) for row in session.execute(self._put_statement(), rows)}
        kept = [doc for key, doc in latest.items() if key in stored]
        if kept:
            self._store_words_many(session, kept)
        return kept

    @staticmethod
    def newest(docs: list[Document]) -> dict[tuple[str, str], Document]:
        """One document per record: what putting them one after the other
        would leave (the newest version; the later of equals)."""
        latest: dict[tuple[str, str], Document] = {}
        for doc in docs:
            known = latest.get((doc.type, doc.id))
            if known is None or doc.version is None or known.version is None or doc.version >= known.version:
                latest[(doc.type, doc.id)] = doc
        return latest

    def _put_statement(self):
        cached = _PUT.get(self.dialect.__name__)
        if cached is None:
            cached = _PUT[self.dialect.__name__] = self._build_put()
        return cached

    def _build_put(self):
        table = SearchEntry.__table__
        stmt = self.dialect.insert(table)
        newer_or_same = or_(table.c.version.is_(None), stmt.excluded.version.is_(None),
                            stmt.excluded.version >= table.c.version)
        return stmt.on_conflict_do_update(
            index_elements=[table.c.type, table.c.id],
            set_={k: stmt.excluded[k] for k in ("title", "subtitle", "title_key", "account_id", "version", "facts",
                                                 "updated_at")},
            where=and_(table.c.hidden.is_(None), newer_or_same),
        ).returning(table.c.type, table.c.id)

    def remove(self, session, removal: Removal) -> None:
        """Hide a record for good (a tombstone even if it was never indexed)."""
        row = {"type": removal.type, "id": removal.id, "title": "", "subtitle": "", "title_key": "",
               "facts": {}, "hidden": removal.reason, "merged_into": removal.merged_into, "updated_at": utcnow()}
        stmt = self.dialect.insert(SearchEntry).values(**row)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[SearchEntry.type, SearchEntry.id],
            set_={"hidden": stmt.excluded.hidden, "merged_into": stmt.excluded.merged_into,
                  "updated_at": stmt.excluded.updated_at}))
        self._drop_words(session, removal.type, removal.id)

    def patch(self, session, patch: Patch) -> None:
        entry = session.get(SearchEntry, (patch.type, patch.id))
        if entry is None or entry.hidden:
            return
        facts = {**(entry.facts or {}), **patch.facts}
        session.execute(update(SearchEntry).where(SearchEntry.type == patch.type, SearchEntry.id == patch.id)
                        .values(facts=facts, subtitle=subtitle(patch.type, facts)[:400], updated_at=utcnow()))

    # -- reading --------------------------------------------------------------------------------------------

    def search(self, session, query: Query) -> list[dict]:
        """The best matches first: title exactly as typed, then titles that
        start with it, then by relevance; if nothing matches as typed, the
        closest known words are tried (typos)."""
        hits = self._matches(session, query)
        if not hits and not query.phone_keys and query.fuzzy_words():
            close = {w: self._close_words(session, w) for w in query.fuzzy_words()}
            if any(close.values()):
                hits = self._matches(session, query.with_alternatives(close))
        return self._with_accounts(session, hits)

    def _with_accounts(self, session, hits: list) -> list[dict]:
        """Say which customer a contact, deal, case or activity belongs to."""
        wanted = {h.account_id for h in hits if h.account_id and h.type != "account"}
        names = {}
        if wanted:
            names = {ident: title for ident, title in session.execute(select(SearchEntry.id, SearchEntry.title).where(
                SearchEntry.type == "account", SearchEntry.id.in_(wanted), SearchEntry.hidden.is_(None)))}
        items = []
        for hit in hits:
            account = names.get(hit.account_id) if hit.type != "account" else None
            items.append({"type": hit.type, "id": hit.id, "title": hit.title,
                          "subtitle": " · ".join(p for p in (account, hit.subtitle) if p)})
        return items

    @staticmethod
    def prefix_pattern(query: Query) -> str:
        key = query.title_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return key + "%"

    # -- engine-specific ----------------------------------------------------------------------------------

    def _store_words(self, session, doc: Document) -> None:
        raise NotImplementedError

    def _store_words_many(self, session, docs: list[Document]) -> None:
        for doc in docs:
            self._store_words(session, doc)

    def _drop_words(self, session, kind: str, ident: str) -> None:
        raise NotImplementedError

    def _matches(self, session, query: Query) -> list:
        raise NotImplementedError

    def _close_words(self, session, word: str) -> list[str]:
        raise NotImplementedError


def index_for(db) -> SearchIndex:
    if db.is_postgres:
        from gateway.search.postgres import PostgresIndex

        return PostgresIndex()
    from gateway.search.sqlite import SqliteIndex

    return SqliteIndex()

