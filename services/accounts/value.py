"""Lifetime value: an account's won total in the base currency
(CONTRACTS §11, docs/currencies.md).

Opportunities owns the exchange rates; we keep a copy from
`opportunities.exchange_rate.updated` and value each account from the won
deals the account view already keeps per deal (account_view_opportunities),
at the current rates: Σ won amount × rate, exact (Decimal), rounded once at
the end, half-even, to the cent. The value is stored on the view (so
`GET /api/v1/accounts?sort=-lifetime_value` walks an index) and recomputed
when a deal of the account is won and when a rate its deals need changes.
While a won deal's currency has no rate the value is null and the view names
the currency (`lifetime_value_missing_rates`); the view itself still answers.
"""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from sqlalchemy import and_, func, or_, select

from shared.db import dialect_of, utcnow
from shared.http import Invalid, decode_cursor, encode_cursor
from shared.worker import Job

from services.accounts.models import Account, AccountView, ExchangeRateCopy, ViewOpportunity

CENT = Decimal("0.01")
EXACT = Context(prec=60)
SORTS = ("-lifetime_value", "lifetime_value")
_base = {"currency": "EUR"}


def configure(base_currency: str) -> None:
    """The base currency of this process (its Settings), set by its factories."""
    _base["currency"] = base_currency


def base_currency() -> str:
    return _base["currency"]


def compute(won: dict[str, Decimal], rates: dict[str, Decimal], base: str) -> tuple[Decimal | None, list[str]]:
    """(value, currencies without a rate): Σ won[c] × rate[c], half-even to the cent once."""
    missing = sorted(c for c, amount in won.items() if c != base and amount and c not in rates)
    if missing:
        return None, missing
    with localcontext(EXACT):
        total = sum((Decimal(a) * (Decimal(1) if c == base else rates[c]) for c, a in won.items() if a),
                    Decimal(0))
    return total.quantize(CENT, rounding=ROUND_HALF_EVEN), []


def _rates(session, base: str) -> dict[str, Decimal]:
    rows = session.execute(select(ExchangeRateCopy.currency, ExchangeRateCopy.rate)
                           .where(ExchangeRateCopy.base == base))
    return {c: Decimal(r) for c, r in rows}


def refresh(uow, view: AccountView) -> None:
    """Value one account's view from its won deals (the caller holds the view's row)."""
    base = base_currency()
    rows = uow.session.execute(
        select(ViewOpportunity.currency, func.sum(ViewOpportunity.amount))
        .where(ViewOpportunity.account_id == view.account_id, ViewOpportunity.status == "won")
        .group_by(ViewOpportunity.currency)).all()
    won = {currency: Decimal(str(total or 0)) for currency, total in rows}
    value, missing = compute(won, _rates(uow.session, base), base)
    view.lifetime_value = value
    view.lifetime_value_missing = ",".join(missing) or None


def refresh_accounts(uow, account_ids) -> int:
    n = 0
    for account_id in sorted(set(account_ids)):  # one lock order for every transaction
        stmt = select(AccountView).where(AccountView.account_id == account_id)
        if uow.db.is_postgres:
            stmt = stmt.with_for_update()
        view = uow.session.scalars(stmt).first()
        if view is not None:
            refresh(uow, view)
            n += 1
    return n


def on_exchange_rate_updated(event: dict, uow) -> None:
    """Keep the newest rate (by version), then revalue the accounts that won deals in it."""
    data = event["data"]
    code, version = str(data["currency"]).upper(), int(data["version"])
    dialect = dialect_of(uow.db)
    values = dict(currency=code, base=str(data["base_currency"]).upper(), rate=Decimal(str(data["rate"])),
                  version=version, as_of=_time(data.get("as_of")), updated_at=utcnow())
    stmt = dialect.insert(ExchangeRateCopy).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=[ExchangeRateCopy.currency],
                                      set_={k: v for k, v in values.items() if k != "currency"},
                                      where=ExchangeRateCopy.version < version)
    uow.session.execute(stmt)
    accounts = uow.session.scalars(select(ViewOpportunity.account_id).distinct().where(
        ViewOpportunity.currency == code, ViewOpportunity.status == "won"))
    refresh_accounts(uow, list(accounts))


def _time(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def value_never_computed(db, *, batch: int = 500) -> int:
    """Views that have never been valued (made before lifetime value existed)."""
    with db.transaction() as uow:
        ids = list(uow.session.scalars(select(AccountView.account_id).where(
            AccountView.lifetime_value.is_(None), AccountView.lifetime_value_missing.is_(None)).limit(batch)))
        refresh_accounts(uow, ids)
    return len(ids)


def jobs(db) -> list[Job]:
    return [Job("lifetime-values", 30.0, lambda: value_never_computed(db))]


# -- the view and the list ------------------------------------------------------------

def view_fields(view: AccountView | None) -> dict:
    """lifetime_value (money in the base currency, or null) and the currencies it lacks a rate for."""
    base = base_currency()
    if view is None:
        return {"lifetime_value": {"amount": Decimal("0.00"), "currency": base}, "lifetime_value_missing_rates": []}
    missing = view.lifetime_value_missing.split(",") if view.lifetime_value_missing else []
    value = view.lifetime_value
    if value is None and not missing:
        value = Decimal("0.00") if not view.won_deals else None
    return {"lifetime_value": {"amount": value, "currency": base} if value is not None else None,
            "lifetime_value_missing_rates": missing}


def _after(cursor: str | None, descending: bool):
    """The keyset condition after the cursor's (value, id), values ordered with nulls last."""
    if not cursor:
        return None
    try:
        raw, last_id = decode_cursor(cursor)
        value = Decimal(raw) if raw is not None else None
    except (TypeError, ValueError, ArithmeticError):
        raise Invalid("The cursor is not one this API returned.", errors={"cursor": ["Invalid cursor."]}) from None
    lv, ident = AccountView.lifetime_value, Account.id
    if value is None:
        return and_(lv.is_(None), ident > last_id)
    beyond = lv < value if descending else lv > value
    return or_(beyond, and_(lv == value, ident > last_id), lv.is_(None))


def page_by_value(session, stmt, args: dict) -> tuple[list[tuple[Account, AccountView | None]], str | None]:
    """One page of accounts (``stmt`` filters them) by lifetime value, most valuable first for
    ``-lifetime_value``; accounts not valued yet (or lacking a rate) come last."""
    descending = args["sort"].startswith("-")
    lv = AccountView.lifetime_value
    stmt = stmt.add_columns(AccountView).outerjoin(AccountView, AccountView.account_id == Account.id)
    condition = _after(args.get("cursor"), descending)
    if condition is not None:
        stmt = stmt.where(condition)
    order = (lv.desc().nulls_last() if descending else lv.asc().nulls_last(), Account.id.asc())
    rows = list(session.execute(stmt.order_by(*order).limit(args["limit"] + 1)).tuples())
    next_cursor = None
    if len(rows) > args["limit"]:
        rows = rows[:args["limit"]]
        account, view = rows[-1]
        value = view.lifetime_value if view is not None else None
        next_cursor = encode_cursor([str(value) if value is not None else None, account.id])
    return rows, next_cursor

