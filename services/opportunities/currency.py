"""Exchange rates and conversion to the base currency (CONTRACTS §11,
docs/currencies.md).

Opportunities owns the rates: `PUT /api/v1/exchange-rates/{currency}` keeps
one rate per currency — units of the base currency (``CADENA_BASE_CURRENCY``)
per one unit of it — and publishes `opportunities.exchange_rate.updated`, so
the accounts service keeps a copy for lifetime value.

Conversion is exact: every part is a Decimal (amounts in cents, rates with up
to 12 places) multiplied and summed in a 60-digit context, which holds any
product and sum we make without rounding; the total is rounded **once, at the
end, half-even, to the cent**. A total that needs a rate we do not have is a
409 naming the currency; a part worth nothing needs no rate.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared import history
from shared.auth import Principal
from shared.db import utcnow
from shared.http import Conflict, Invalid, NotFound, ensure_version

from services.opportunities.models import ExchangeRate

CENT = Decimal("0.01")
EXACT = Context(prec=60)
RATE_PLACES = 12


class MissingRate(Exception):
    def __init__(self, currencies: list[str]):
        super().__init__(", ".join(currencies))
        self.currencies = currencies


def needed(parts: Mapping[str, Decimal], rates: Mapping[str, Decimal], base: str) -> list[str]:
    """The currencies of non-zero parts that have no rate (sorted)."""
    return sorted(c for c, value in parts.items() if c != base and value and c not in rates)


def exact_total(parts: Mapping[str, Decimal], rates: Mapping[str, Decimal], base: str) -> Decimal:
    """Σ part × rate, unrounded. MissingRate when a non-zero part has no rate."""
    missing = needed(parts, rates, base)
    if missing:
        raise MissingRate(missing)
    with localcontext(EXACT):
        total = Decimal(0)
        for currency, value in parts.items():
            if value:
                total += Decimal(value) * (Decimal(1) if currency == base else Decimal(rates[currency]))
        return total


def to_cents(value: Decimal) -> Decimal:
    """The one rounding of a converted total: half-even to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def convert_total(parts: Mapping[str, Decimal], rates: Mapping[str, Decimal], base: str) -> Decimal:
    """Σ part × rate in the base currency, rounded once (half-even, cents)."""
    return to_cents(exact_total(parts, rates, base))


def missing_rate_problem(currencies: list[str], base: str) -> Conflict:
    first = currencies[0]
    return Conflict(
        f"No exchange rate for {', '.join(currencies)}: this total is in {base} and needs one. Set it with "
        f"PUT /api/v1/exchange-rates/{first} {{\"rate\": \"<{base} per 1 {first}>\"}}, or ask for one "
        f"currency with ?currency={first} (unconverted).",
        slug="missing-exchange-rate", extra={"currency": first, "currencies": currencies, "base_currency": base})


# -- the rates -----------------------------------------------------------------------

def rates_for(session, base: str) -> dict[str, Decimal]:
    """currency → rate, for the rates set under this base currency."""
    rows = session.execute(select(ExchangeRate.currency, ExchangeRate.rate).where(ExchangeRate.base == base))
    return {currency: Decimal(rate) for currency, rate in rows}


def rate_dict(row: ExchangeRate) -> dict:
    return {"currency": row.currency, "base_currency": row.base, "rate": format_rate(row.rate),
            "as_of": row.as_of, "version": row.version, "created_at": row.created_at, "updated_at": row.updated_at}


def format_rate(rate: Decimal) -> str:
    """A rate as a decimal string without trailing zeros ("0.92", "18.5", "1")."""
    text = format(Decimal(rate).normalize(), "f")
    return text


def list_rates(session, base: str) -> list[ExchangeRate]:
    return list(session.scalars(select(ExchangeRate).where(ExchangeRate.base == base)
                                .order_by(ExchangeRate.currency)))


def get_rate(session, currency: str, base: str) -> ExchangeRate:
    row = session.get(ExchangeRate, currency.upper())
    if row is None or row.base != base:
        raise NotFound(f"No exchange rate for {currency.upper()} (base {base}).")
    return row


def _check_currency(currency: str, base: str) -> str:
    from shared.schemas import CURRENCIES

    code = currency.upper()
    if code not in CURRENCIES:
        raise Invalid("Not an ISO 4217 currency code.", errors={"currency": ["Not an ISO 4217 currency code."]})
    if code == base:
        raise Invalid(f"{base} is the base currency: its rate is always 1.",
                      errors={"currency": [f"{base} is the base currency (rate 1)."]})
    return code


def put_rate(uow, actor: Principal, currency: str, data: dict, base: str,
             expected: set[str] | None = None) -> tuple[ExchangeRate, bool]:
    """Set the rate of a currency against the base; returns (rate, created).
    No commit: the caller's transaction commits it with its event."""
    code = _check_currency(currency, base)
    session = uow.session
    row = session.get(ExchangeRate, code, with_for_update=uow.db.is_postgres or None)
    created = row is None
    before = None if created else _rate_event(row, actor.id)
    as_of = data.get("as_of") or utcnow()
    if created:
        row = ExchangeRate(currency=code, base=base, rate=data["rate"], as_of=as_of, updated_by=actor.id,
                           created_at=utcnow(), version=1)
        session.add(row)
    else:
        ensure_version(row.version, expected)
        row.base, row.rate, row.as_of, row.updated_by = base, data["rate"], as_of, actor.id
        row.updated_at = utcnow()
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Someone set this rate at the same moment; retry.") from None
    history.updated(uow, "opportunities.exchange_rate.updated", code, _rate_event(row, actor.id), before=before or {})
    return row, created


def _rate_event(row: ExchangeRate, actor_id: str) -> dict:
    return {"currency": row.currency, "base_currency": row.base, "rate": format_rate(row.rate),
            "as_of": row.as_of.isoformat(), "version": row.version, "updated_by": actor_id}
