"""What campaigns keeps of won deals' line items: the product codes each
account owns, for segments' ``products[]`` (CONTRACTS §11)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from shared.db import dialect_of

from services.campaigns.models import AccountProduct


def record_won_lines(uow, account_id: str | None, data: dict, won_at: datetime | None) -> None:
    """Every coded line of a won deal: its account owns that product (idempotent)."""
    codes = sorted({str(line["product_code"])[:64] for line in data.get("line_items") or []
                    if isinstance(line, dict) and line.get("product_code")})
    if not account_id or not codes:
        return
    dialect = dialect_of(uow.db)
    for code in codes:
        uow.session.execute(dialect.insert(AccountProduct).values(
            account_id=str(account_id), product_code=code, first_won_at=won_at).on_conflict_do_nothing())


def owners_of(codes) -> select:
    """Accounts that own any of ``codes`` (compared case-insensitively, like every segment list)."""
    folded = sorted({" ".join(str(c).split()).casefold() for c in codes})
    return select(AccountProduct.account_id).where(func.lower(AccountProduct.product_code).in_(folded))


def owned_by(session, account_ids) -> dict[str, tuple[str, ...]]:
    ids = sorted({a for a in account_ids if a})
    out: dict[str, list[str]] = {}
    for chunk in range(0, len(ids), 500):
        rows = session.execute(select(AccountProduct.account_id, AccountProduct.product_code)
                               .where(AccountProduct.account_id.in_(ids[chunk:chunk + 500])))
        for account_id, code in rows:
            out.setdefault(account_id, []).append(code)
    return {k: tuple(v) for k, v in out.items()}
