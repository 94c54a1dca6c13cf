"""Sums of money as the console shows them: per currency, since amounts in
different currencies are never added up."""
from __future__ import annotations

from decimal import Decimal


def amount_of(money: dict | None) -> Decimal | None:
    if not money or money.get("amount") in (None, ""):
        return None
    return Decimal(str(money["amount"]))


def totals(moneys) -> list[dict]:
    """[{"amount", "currency"}] per currency, in currency order."""
    sums: dict[str, Decimal] = {}
    for money in moneys:
        value = amount_of(money)
        if value is not None:
            sums[money["currency"]] = sums.get(money["currency"], Decimal(0)) + value
    return [{"amount": str(v), "currency": c} for c, v in sorted(sums.items())]


def averages(moneys) -> list[dict]:
    """The mean per currency, to the cent."""
    moneys = list(moneys)
    counts: dict[str, int] = {}
    for money in moneys:
        if amount_of(money) is not None:
            counts[money["currency"]] = counts.get(money["currency"], 0) + 1
    return [{"amount": str((Decimal(t["amount"]) / counts[t["currency"]]).quantize(Decimal("0.01"))),
             "currency": t["currency"]} for t in totals(moneys)]
