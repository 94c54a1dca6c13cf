"""Records that may be the same contact or the same company (CONTRACTS §9),
each with the rules that say so — explainable, and cheap enough to ask often:

- exact keys (`same_email`, `same_phone`, `same_tax_id`, `same_website_domain`)
  are grouped in SQL over indexed keys kept on every write (models.py);
- similar names are compared only inside a block (`similar_name_same_account`:
  the contacts of one account; `similar_name`: accounts sharing their first
  or their longest name word), with rapidfuzz's token-sort ratio.

Deleted records are never candidates. docs/search.md lists the rules and thresholds.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import groupby

from rapidfuzz import fuzz, process
from sqlalchemy import func, select

from shared.http import decode_cursor, encode_cursor

from services.accounts.models import Account, Contact

# Token-sort ratio (0..100, word order ignored) from which two names are "similar".
CONTACT_NAME_SCORE = 88
ACCOUNT_NAME_SCORE = 90
# A block larger than this is split by the names' first two letters (keeps a block's pairs ≤ ~1M).
BLOCK_MAX = 1000

Item = tuple[tuple[str, ...], set[str]]


def contact_duplicates(session) -> list[dict]:
    found: dict[tuple[str, ...], set[str]] = defaultdict(set)
    live = Contact.deleted_at.is_(None)
    for ids in _same_key(session, Contact, Contact.email_key, live):
        found[ids].add("same_email")
    for ids in _same_key(session, Contact, Contact.phone_key, live):
        found[ids].add("same_phone")
    for ids in _similar_within_accounts(session):
        found[ids].add("similar_name_same_account")
    return _ordered(found)


def account_duplicates(session) -> list[dict]:
    found: dict[tuple[str, ...], set[str]] = defaultdict(set)
    live = Account.deleted_at.is_(None)
    for ids in _same_key(session, Account, Account.tax_key, live):
        found[ids].add("same_tax_id")
    for ids in _same_key(session, Account, Account.domain_key, live):
        found[ids].add("same_website_domain")
    for ids in _similar_accounts(session):
        found[ids].add("similar_name")
    return _ordered(found)


def _ordered(found: dict[tuple[str, ...], set[str]]) -> list[dict]:
    order = ("same_email", "same_phone", "same_tax_id", "same_website_domain", "similar_name_same_account",
             "similar_name")
    return [{"ids": list(ids), "reasons": [r for r in order if r in reasons]} for ids, reasons in sorted(found.items())]


def page(items: list[dict], limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """Keyset over the items' ids (sorted), as every list pages."""
    if cursor:
        _first, after = decode_cursor(cursor)
        items = [i for i in items if tuple(i["ids"]) > tuple(str(after).split(","))]
    chosen = items[:limit]
    more = len(items) > limit
    return chosen, (encode_cursor([chosen[-1]["ids"][0], ",".join(chosen[-1]["ids"])]) if more else None)


# -- exact keys ----------------------------------------------------------------------------------------------

def _same_key(session, model, key, live) -> list[tuple[str, ...]]:
    """Groups of live records that share a key (GROUP BY over the key's index)."""
    shared = select(key).where(live, key.is_not(None)).group_by(key).having(func.count() > 1)
    rows = session.execute(select(key, model.id).where(live, key.in_(shared)).order_by(key, model.id))
    return [tuple(ident for _, ident in group) for _, group in groupby(rows, key=lambda r: r[0])]


# -- similar names -------------------------------------------------------------------------------------------

def _similar_within_accounts(session) -> set[tuple[str, ...]]:
    live = Contact.deleted_at.is_(None)
    crowded = select(Contact.account_id).where(live, Contact.account_id.is_not(None)).group_by(
        Contact.account_id).having(func.count() > 1)
    rows = session.execute(select(Contact.account_id, Contact.id, Contact.name_key).where(
        live, Contact.name_key.is_not(None), Contact.account_id.in_(crowded)).order_by(Contact.account_id, Contact.id))
    pairs: set[tuple[str, ...]] = set()
    for _account, block in groupby(rows, key=lambda r: r[0]):
        pairs |= similar_pairs([(ident, name) for _, ident, name in block], CONTACT_NAME_SCORE)
    return pairs


def _similar_accounts(session) -> set[tuple[str, ...]]:
    """Accounts are blocked twice — by their name's first word and by its
    longest word — so one typo in either still meets the other in a block."""
    blocks: dict[str, list[tuple[str, str]]] = defaultdict(list)
    rows = session.execute(select(Account.id, Account.name_key).where(
        Account.deleted_at.is_(None), Account.name_key.is_not(None)).order_by(Account.id))
    for ident, name in rows:
        parts = name.split()
        blocks["first:" + parts[0]].append((ident, name))
        blocks["longest:" + max(parts, key=len)].append((ident, name))
    pairs: set[tuple[str, ...]] = set()
    for members in blocks.values():
        if len(members) > 1:
            pairs |= similar_pairs(members, ACCOUNT_NAME_SCORE)
    return pairs


def similar_pairs(members: list[tuple[str, str]], score: int) -> set[tuple[str, ...]]:
    """Pairs of ids whose names score at least ``score`` (token-sort ratio), compared inside the block only."""
    if len(members) > BLOCK_MAX:
        split: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for ident, name in members:
            split[name[:2]].append((ident, name))
        if len(split) > 1:
            return set().union(*(similar_pairs(part, score) for part in split.values() if len(part) > 1))
        members = members[:BLOCK_MAX]  # one crowded prefix: compare the first BLOCK_MAX of it
    names = [name for _, name in members]
    pairs = set()
    for i, (ident, name) in enumerate(members[:-1]):
        for _match, _score, j in process.extract(name, names[i + 1:], scorer=fuzz.token_sort_ratio,
                                                  score_cutoff=score, limit=None):
            pairs.add(tuple(sorted((ident, members[i + 1 + j][0]))))
    return pairs
