"""What a customer owns (its installed base, from its won deals) and what it
might buy next (recommendations), CONTRACTS §11, docs/products.md.

Recommendations are explainable on purpose: a product is recommended when
accounts like this one — the same industry or the same segment (the
account replica, fed by accounts' events) — own it from won deals and this
one does not; they rank by how many such accounts own it, and each says so
in words. Only active catalogue products are recommended.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping

from sqlalchemy import case, distinct, false, func, or_, select

from shared.http import Invalid, NotFound

from services.opportunities import products, replica
from services.opportunities.models import AccountReplica, LineItem, Opportunity


def _won_lines():
    return (select(Opportunity.account_id.label("account_id"), LineItem.product_code.label("code"))
            .join(LineItem, LineItem.opportunity_id == Opportunity.id)
            .where(Opportunity.stage == "closed_won", Opportunity.deleted_at.is_(None),
                   LineItem.product_code.is_not(None)))


def known_account(session, account_id, token: str | None, client) -> AccountReplica:
    """The account (replica, or read once from accounts); 404 when there is none."""
    try:
        return replica.find_account(session, account_id, token, client)
    except Invalid:
        raise NotFound.of("account", account_id) from None


def _number(value) -> int | float:
    number = Decimal(value or 0)
    return int(number) if number == number.to_integral_value() else float(number)


def installed_base(session, account: AccountReplica) -> dict:
    """Every coded product of the account's won deals: quantity summed, first and last win."""
    stmt = (select(LineItem.product_code, func.sum(LineItem.quantity), func.count(distinct(Opportunity.id)),
                   func.min(Opportunity.closed_at), func.max(Opportunity.closed_at),
                   func.max(LineItem.product_name), func.max(LineItem.product_family),
                   func.max(LineItem.description))
            .join(Opportunity, LineItem.opportunity_id == Opportunity.id)
            .where(Opportunity.account_id == account.id, Opportunity.stage == "closed_won",
                   Opportunity.deleted_at.is_(None), LineItem.product_code.is_not(None))
            .group_by(LineItem.product_code).order_by(LineItem.product_code))
    rows = session.execute(stmt).all()
    catalogue = products.by_codes(session, (r[0] for r in rows))
    items = []
    for code, quantity, deals, first, last, name, family, description in rows:
        product = catalogue.get(code)
        items.append({"product_code": code, "name": product.name if product else (name or description),
                      "family": product.family if product else family, "quantity": _number(quantity),
                      "deals": int(deals), "first_won_at": first, "last_won_at": last})
    return {"account_id": account.id, "items": items}


# -- recommendations -------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """A product peers own: how many (distinct) peers, and of them how many share the
    industry and the segment."""

    code: str
    owners: int
    same_industry: int
    same_segment: int


def reason(candidate: Candidate, industry: str | None, segment: str | None) -> str:
    parts = []
    if candidate.same_industry:
        parts.append(f"{candidate.same_industry} in the {industry} industry")
    if candidate.same_segment:
        parts.append(f"{candidate.same_segment} in the {segment} segment")
    noun = "account owns" if candidate.owners == 1 else "accounts own"
    return (f"{candidate.owners} similar {noun} it ({' and '.join(parts)}) from won deals, "
            "and this account does not.")


def rank(candidates: Iterable[Candidate], catalogue: Mapping, industry: str | None, segment: str | None,
         limit: int) -> list[dict]:
    """Active catalogue products only, most owners first (then most of the same industry, then by code)."""
    kept = [c for c in candidates if c.owners and c.code in catalogue and catalogue[c.code].active]
    kept.sort(key=lambda c: (-c.owners, -c.same_industry, -c.same_segment, c.code))
    out = []
    for c in kept[:limit]:
        product = catalogue[c.code]
        price = ({"amount": product.unit_price, "currency": product.currency}
                 if product.unit_price is not None else None)
        out.append({"product_code": c.code, "name": product.name, "family": product.family, "unit_price": price,
                    "owners": c.owners, "same_industry": c.same_industry, "same_segment": c.same_segment,
                    "reason": reason(c, industry, segment)})
    return out


def candidates(session, account: AccountReplica) -> list[Candidate]:
    """One GROUP BY: the products the account's peers own and it does not."""
    a = AccountReplica
    same_industry = (func.lower(a.industry) == account.industry.lower()) if account.industry else false()
    same_segment = (a.segment == account.segment) if account.segment else false()
    owned = _won_lines().distinct().subquery()
    mine = select(owned.c.code).where(owned.c.account_id == account.id)
    stmt = (select(owned.c.code, func.count(distinct(owned.c.account_id)),
                   func.count(distinct(case((same_industry, owned.c.account_id)))),
                   func.count(distinct(case((same_segment, owned.c.account_id)))))
            .join(a, a.id == owned.c.account_id)
            .where(a.deleted.is_(False), a.id != account.id, or_(same_industry, same_segment),
                   owned.c.code.not_in(mine))
            .group_by(owned.c.code))
    return [Candidate(code, int(n), int(i), int(s)) for code, n, i, s in session.execute(stmt)]


def recommendations(session, account: AccountReplica, limit: int = 10) -> dict:
    found = candidates(session, account) if (account.industry or account.segment) else []
    catalogue = products.by_codes(session, (c.code for c in found))
    return {"account_id": account.id, "industry": account.industry, "segment": account.segment,
            "items": rank(found, catalogue, account.industry, account.segment, limit)}

