"""The pipeline's rules as pure functions: stages and their defaults, line
item totals, forecast periods and weighted amounts (no I/O, unit-tested)."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
# A deal (and a quota) is below a trillion in its currency: far above any real
# deal, and it keeps every sum in whole cents inside a 64-bit integer.
MAX_AMOUNT = Decimal("1000000000000")


@dataclass(frozen=True)
class Stage:
    name: str
    probability: int
    forecast_category: str
    is_open: bool


# CONTRACTS §4: the stages in order, with their default probability; the
# forecast category each one implies unless a rep overrides it.
STAGES: tuple[Stage, ...] = (
    Stage("prospecting", 10, "pipeline", True),
    Stage("qualification", 25, "pipeline", True),
    Stage("proposal", 50, "best_case", True),
    Stage("negotiation", 75, "commit", True),
    Stage("closed_won", 100, "closed", False),
    Stage("closed_lost", 0, "omitted", False),
)
BY_NAME = {s.name: s for s in STAGES}
STAGE_NAMES = tuple(s.name for s in STAGES)
OPEN_STAGES = tuple(s.name for s in STAGES if s.is_open)
CLOSED_STAGES = ("closed_won", "closed_lost")
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")
# What a rep may pick for a deal that is still open ("closed" is for won deals only).
OPEN_FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "omitted")


def default_probability(stage: str) -> int:
    return BY_NAME[stage].probability


def default_forecast_category(stage: str) -> str:
    return BY_NAME[stage].forecast_category


def is_open(stage: str) -> bool:
    return BY_NAME[stage].is_open


def stage_defaults(stage: str, probability: int | None = None, forecast_category: str | None = None) -> tuple[int, str]:
    """(probability, forecast_category) for a deal entering ``stage``: what
    the caller set, else the stage's default. A closed stage fixes both."""
    if not is_open(stage):
        return default_probability(stage), default_forecast_category(stage)
    return (default_probability(stage) if probability is None else probability,
            default_forecast_category(stage) if forecast_category is None else forecast_category)


# -- money ----------------------------------------------------------------------

def cents(value: Decimal) -> Decimal:
    """Round half up to the cent (the only rounding the service ever does)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """A line's total: quantity × unit price, rounded half up to the cent."""
    return cents(Decimal(quantity) * Decimal(unit_price))


def lines_total(lines) -> Decimal:
    """Sum of the lines' rounded totals; the deal amount must equal it."""
    return sum((line_total(line["quantity"], line["unit_price"]["amount"]) for line in lines), Decimal("0.00"))


def check_lines(amount: dict | None, lines: list[dict]) -> tuple[dict | None, dict[str, list[str]]]:
    """Validate line items against a deal amount.

    Returns (amount, errors): the amount derived from the lines when none
    was given, and the validation errors by field (empty when all is well).
    """
    errors: dict[str, list[str]] = {}
    if not lines:
        if amount is None:
            errors["amount"] = ["Give an amount, or line items to derive it from."]
        return amount, errors
    currency = amount["currency"] if amount else lines[0]["unit_price"]["currency"]
    for i, line in enumerate(lines):
        if line["unit_price"]["currency"] != currency:
            errors[f"line_items.{i}.unit_price.currency"] = [
                f"Every line must be in the deal's currency ({currency})."]
    if errors:
        return amount, errors
    total = lines_total(lines)
    if total >= MAX_AMOUNT:
        errors["line_items"] = ["The lines add up to more than a deal may be worth."]
        return amount, errors
    if amount is None:
        return {"amount": total, "currency": currency}, errors
    if Decimal(amount["amount"]) != total:
        errors["amount"] = [f"Must equal the sum of the line totals ({total:.2f} {currency}); "
                            "omit it to derive it from the lines."]
    return amount, errors


def weighted(amount_times_probability: Decimal | None) -> Decimal:
    """Σ(amount × probability) / 100, rounded once to the cent."""
    return cents(Decimal(amount_times_probability or 0) / 100)


# -- periods --------------------------------------------------------------------

PERIOD_RE = re.compile(r"^(?P<year>\d{4})-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2]))$")


class BadPeriod(ValueError):
    pass


def parse_period(period: str) -> tuple[date, date]:
    """'2026-Q4' → (2026-10-01, 2026-12-31); '2026-11' → (2026-11-01, 2026-11-30). Both ends included."""
    match = PERIOD_RE.match(period or "")
    if not match:
        raise BadPeriod("A period is a quarter like 2026-Q4 or a month like 2026-11.")
    year = int(match["year"])
    if year < 1970:
        raise BadPeriod("A period's year is 1970 or later.")
    if match["quarter"]:
        first_month = (int(match["quarter"]) - 1) * 3 + 1
        last_month = first_month + 2
    else:
        first_month = last_month = int(match["month"])
    return date(year, first_month, 1), date(year, last_month, calendar.monthrange(year, last_month)[1])


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def end_of_quarter(day: date) -> date:
    return parse_period(quarter_of(day))[1]


def attainment(closed_won: Decimal, quota: Decimal) -> float | None:
    """closed_won / quota as a fraction (0.25 = 25 %), 4 decimals; None without a quota."""
    if not quota:
        return None
    return float((Decimal(closed_won) / Decimal(quota)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
