"""The search box's text, read once and written for each engine: Postgres
full-text (`to_tsquery`) and SQLite FTS5 (`MATCH`). Pure, so the rules are
tested without a database.

Every word must match, as a prefix ("valdeol" finds "Valdeolmos"); a text
that looks like a phone number is matched by its digits however it was typed,
with or without the country code; a word the index does not know may be
replaced by the known words closest to it (typos, see ``with_alternatives``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from shared.http import Invalid
from shared.normalize import DEFAULT_PHONE_REGION, looks_like_phone, phone_keys, raw_words, words

from gateway.search.documents import TYPES

MAX_WORDS = 8
MAX_LENGTH = 200
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
# A word shorter than this is not corrected: too many words are one letter away.
MIN_TYPO_LENGTH = 4
# Beside other words, a word shorter than this must match whole: "es" of an e-mail or "sl" of a company as a
# prefix would match most records, and cost a scan of them all.
MIN_PREFIX_LENGTH = 3


@dataclass(frozen=True)
class Query:
    text: str
    words: tuple[str, ...]  # folded: to rank and to correct
    typed: tuple[str, ...] = ()  # the same words as typed: each engine folds them as it folds what it indexed
    phone_keys: tuple[str, ...] = ()  # when the text is a phone number: any of these, as a prefix
    types: tuple[str, ...] = TYPES
    limit: int = DEFAULT_LIMIT
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)  # word → known words close to it
    expansions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # word → the known words it begins

    @property
    def title_key(self) -> str:
        """The folded text, to rank a record whose title is exactly what was typed first."""
        return " ".join(self.words)

    def as_prefix(self, word: str) -> bool:
        return len(word) >= MIN_PREFIX_LENGTH or len(self.words) == 1

    def fuzzy_words(self) -> list[str]:
        return [w for w in self.words if len(w) >= MIN_TYPO_LENGTH and not w.isdigit()]

    def with_alternatives(self, alternatives: dict[str, list[str]]) -> "Query":
        return replace(self, alternatives={w: tuple(a for a in alts if a != w) for w, alts in alternatives.items()
                                           if alts})

    def with_expansions(self, expansions: dict[str, list[str]]) -> "Query":
        """Prefixes spelled out as the known words they begin (exact words are cheaper to look up than a prefix)."""
        return replace(self, expansions={w: tuple(found) for w, found in expansions.items() if found})


def parse(q: str | None, types: str | None = None, limit: int | None = None,
          region: str = DEFAULT_PHONE_REGION) -> Query:
    """Validate the search parameters (422 naming each bad one) and read the text."""
    errors: dict[str, list[str]] = {}
    text = (q or "").strip()
    typed = raw_words(text)[:MAX_WORDS]
    found = [" ".join(words(w)) for w in typed]
    if not text:
        errors["q"] = ["Type something to search for."]
    elif len(text) > MAX_LENGTH:
        errors["q"] = [f"At most {MAX_LENGTH} characters."]
    elif not found:
        errors["q"] = ["Type at least one letter or digit."]
    wanted = _types(types, errors)
    if limit is None:
        limit = DEFAULT_LIMIT
    elif not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [f"Must be between 1 and {MAX_LIMIT}."]
    if errors:
        raise Invalid("The search parameters are not valid.", errors=errors)
    keys = tuple(phone_keys(text, region)) if looks_like_phone(text) else ()
    return Query(text, tuple(found), tuple(typed), keys, wanted, limit)


def _types(types: str | None, errors: dict) -> tuple[str, ...]:
    if types is None or not types.strip():
        return TYPES
    asked = [t.strip() for t in types.split(",") if t.strip()]
    unknown = [t for t in asked if t not in TYPES]
    if unknown:
        errors["types"] = [f"Unknown type {t!r}; choose among {', '.join(TYPES)}." for t in unknown[:5]]
    return tuple(t for t in TYPES if t in asked)


# -- Postgres: to_tsquery -----------------------------------------------------------------------------

def _lexeme(word: str) -> str:
    return "'" + word.replace("'", "''") + "'"  # words hold only letters and digits; quoted all the same


def tsquery(query: Query) -> str:
    """The text for ``to_tsquery('cadena_search', …)``: every word as a prefix
    (a short one beside others, whole; or one of its alternatives, whole),
    or any of the phone keys."""
    if query.phone_keys:
        return " | ".join(f"{_lexeme(k)}:*" for k in query.phone_keys)
    clauses = []
    for typed, word in zip(query.typed, query.words):
        star = ":*" if query.as_prefix(word) else ""
        spelled = [_lexeme(w) for w in query.expansions.get(word, ())] or [f"{_lexeme(typed)}{star}"]
        options = [*spelled, *(_lexeme(a) for a in query.alternatives.get(word, ()))]
        clauses.append(options[0] if len(options) == 1 else "(" + " | ".join(options) + ")")
    return " & ".join(clauses)


# -- SQLite: FTS5 MATCH ------------------------------------------------------------------------------------

def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts5_match(query: Query) -> str:
    """The same query in FTS5's syntax."""
    if query.phone_keys:
        return " OR ".join(f"{_phrase(k)}*" for k in query.phone_keys)
    clauses = []
    for typed, word in zip(query.typed, query.words):
        star = "*" if query.as_prefix(word) else ""
        options = [f"{_phrase(typed)}{star}", *(_phrase(a) for a in query.alternatives.get(word, ()))]
        clauses.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
    return " AND ".join(clauses)
