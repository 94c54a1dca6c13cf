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
from sqlalchemy.dialects import postgresql, sqlite

from shared.db import utcnow
from gateway.models import SearchEntry
from gateway.search.documents import Document, Patch, Removal, subtitle
from gateway.search.query import Query

# Rows ranked per query: a text that matches more than this (a common
# surname, a one-letter prefix) is ranked among the first this many found.
CANDIDATES = 500


class SearchIndex:
    """What both engines do the same way: the rows, versions and tombstones.
    An engine adds where the words go (``_store_words``, ``_drop_words``),
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

    def put(self, session, doc: Document) -> bool:
        """Index a record (insert or replace); False when a newer version or a tombstone is already there."""
        row = {"type": doc.type, "id": doc.id, "title": doc.title[:400], "subtitle": doc.subtitle[:400],
               "title_key": doc.title_key[:400], "account_id": doc.account_id, "version": doc.version,
               "facts": doc.facts, "hidden": None, "merged_into": None, "updated_at": utcnow()}
        stmt = self.dialect.insert(SearchEntry).values(**row)
        newer_or_same = or_(SearchEntry.version.is_(None), stmt.excluded.version.is_(None),
                            stmt.excluded.version >= SearchEntry.version)
        stmt = stmt.on_conflict_do_update(
            index_elements=[SearchEntry.type, SearchEntry.id],
            set_={k: stmt.excluded[k] for k in row if k not in ("type", "id", "hidden", "merged_into")},
            where=and_(SearchEntry.hidden.is_(None), newer_or_same),
        ).returning(SearchEntry.type)
        if session.execute(stmt).first() is None:
            return False
        self._store_words(session, doc)
        return True

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

