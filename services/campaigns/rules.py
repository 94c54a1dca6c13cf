"""Campaigns' rules as pure functions (no I/O): who a segment matches, which
template a contact gets and how it is filled in, and the ROI arithmetic.
docs/campaigns.md explains each rule."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping

CHANNELS = ("email", "phone", "event", "web", "other")
STATUSES = ("draft", "active", "completed")
MEMBER_STATUSES = ("targeted", "sent", "responded", "converted", "opted_out")
LIFECYCLE = ("prospect", "potential_customer", "active_customer", "inactive_customer")
ACCOUNT_SEGMENTS = ("transactional", "solutions", "relational", "collaborative")
PROSPECT_STAGES = frozenset({"prospect", "potential_customer"})
CUSTOMER_STAGES = frozenset({"active_customer", "inactive_customer"})

SEGMENT_LISTS = ("industry", "country", "region", "account_segment", "lifecycle_stage", "interests", "products")
# Criteria that look at the contact's account: a contact without one never matches them.
ACCOUNT_CRITERIA = ("industry", "country", "region", "account_segment", "annual_revenue_min", "annual_revenue_max",
                    "products")


# -- segments -----------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One contact with its account's attributes, as the replica knows them."""

    contact_id: str
    account_id: str | None = None
    lifecycle_stage: str | None = None
    interests: tuple[str, ...] = ()
    industry: str | None = None
    country: str | None = None
    region: str | None = None
    account_segment: str | None = None
    revenue_amount: Decimal | None = None
    revenue_currency: str | None = None
    has_account: bool = False
    products: tuple[str, ...] = ()  # product codes the account owns (won deals)


def fold(text: str | None) -> str:
    """Case- and spacing-insensitive form for comparing free-text values."""
    return " ".join((text or "").split()).casefold()


def _in(value: str | None, allowed: Iterable[str]) -> bool:
    folded = fold(value)
    return bool(folded) and folded in {fold(a) for a in allowed}


def _bound(bound) -> tuple[Decimal, str] | None:
    if not bound:
        return None
    return Decimal(str(bound["amount"])), bound["currency"]


def matches(segment: Mapping, target: Target) -> bool:
    """AND across criteria, OR within one; an absent or empty criterion does
    not filter. Text compares case-insensitively. Revenue bounds are
    inclusive and only match an account whose revenue is known and in the
    bound's currency (there is no currency conversion)."""
    uses_account = any(segment.get(k) for k in ACCOUNT_CRITERIA)
    if uses_account and not target.has_account:
        return False
    checks = (("industry", target.industry), ("country", target.country), ("region", target.region),
              ("account_segment", target.account_segment), ("lifecycle_stage", target.lifecycle_stage))
    for key, value in checks:
        wanted = segment.get(key) or ()
        if wanted and not _in(value, wanted):
            return False
    for key, owned in (("interests", target.interests), ("products", target.products)):
        wanted = segment.get(key) or ()
        if wanted and not ({fold(i) for i in wanted} & {fold(i) for i in owned}):
            return False
    low, high = _bound(segment.get("annual_revenue_min")), _bound(segment.get("annual_revenue_max"))
    for bound, ok in ((low, lambda amount, b: amount >= b), (high, lambda amount, b: amount <= b)):
        if bound is None:
            continue
        if target.revenue_amount is None or target.revenue_currency != bound[1]:
            return False
        if not ok(Decimal(target.revenue_amount), bound[0]):
            return False
    return True


def normalise_segment(segment: Mapping | None, default_currency: str) -> dict:
    """The stored form: every list present (deduplicated, in order), country
    codes upper case, revenue bounds as money with decimal strings. A bare
    amount is read in ``default_currency`` (the campaign's)."""
    segment = dict(segment or {})
    out: dict = {}
    for key in SEGMENT_LISTS:
        seen, values = set(), []
        for value in segment.get(key) or ():
            value = " ".join(str(value).split())
            if key == "country":
                value = value.upper()
            if fold(value) not in seen:
                seen.add(fold(value))
                values.append(value)
        out[key] = values
    for key in ("annual_revenue_min", "annual_revenue_max"):
        bound = segment.get(key)
        if bound is None:
            out[key] = None
        elif isinstance(bound, Mapping):
            out[key] = {"amount": f"{Decimal(str(bound['amount'])):.2f}",
                        "currency": bound.get("currency") or default_currency}
        else:
            out[key] = {"amount": f"{Decimal(str(bound)):.2f}", "currency": default_currency}
    return out


def segment_problems(segment: Mapping) -> dict[str, list[str]]:
    """Cross-field checks on a normalised segment."""
    low, high = _bound(segment.get("annual_revenue_min")), _bound(segment.get("annual_revenue_max"))
    if low and high:
        if low[1] != high[1]:
            return {"segment.annual_revenue_max": ["Use the same currency as annual_revenue_min."]}
        if low[0] > high[0]:
            return {"segment.annual_revenue_max": ["Must not be below annual_revenue_min."]}
    return {}


# -- templates ----------------------------------------------------------------

PLACEHOLDERS = ("first_name", "last_name", "name", "account_name", "campaign_name")
TEMPLATE_KEYS = ("prospect", "customer", "default", *LIFECYCLE)
# "{{" and "}}" are literal braces; "{word}" is a placeholder. Nothing else is
# interpreted: no attribute access, indexing or format specs (never str.format).
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")

DEFAULT_TEMPLATES = {
    "prospect": {
        "subject": "{campaign_name}: an introduction for {account_name}",
        "body": "Hello {first_name},\n\nWe would like to show {account_name} what we can do for you "
                "({campaign_name}).\n\nReply to this message if you would like to hear more.\n",
    },
    "customer": {
        "subject": "{campaign_name}: news for our customers at {account_name}",
        "body": "Hello {first_name},\n\nThank you for working with us. As a customer, {account_name} gets "
                "early access to {campaign_name}.\n\nReply to this message to take part.\n",
    },
}


def template_problems(text: str) -> list[str]:
    """Unknown placeholders in a template (shown to the author at save time)."""
    unknown = sorted({m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None
                      and m.group(1) not in PLACEHOLDERS})
    if not unknown:
        return []
    return [f"Unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; use "
            f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} (write {{{{ and }}}} for literal braces)."]


def render(text: str, values: Mapping[str, object]) -> str:
    """Fill placeholders from ``values`` by name only; a missing value is
    empty, an unknown placeholder stays as written."""

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name in PLACEHOLDERS:
            value = values.get(name)
            return "" if value is None else str(value)
        return token

    return _TOKEN.sub(replace, text)


def choose_template(stage: str | None, templates: Mapping[str, Mapping]) -> tuple[str, Mapping]:
    """The most specific template for a lifecycle stage: the stage's own key,
    then its group (prospect: prospect/potential_customer; customer:
    active/inactive_customer), then "default", then the built-in text of the
    group. Returns (key used, {subject, body})."""
    group = "customer" if stage in CUSTOMER_STAGES else "prospect"
    for key in (stage, group, "default"):
        if key and key in templates:
            return key, templates[key]
    return f"builtin:{group}", DEFAULT_TEMPLATES[group]


def one_line(text: str) -> str:
    """Header-safe text: no CR/LF can reach a mail header."""
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Message:
    template: str
    subject: str
    body: str


def compose(stage: str | None, templates: Mapping[str, Mapping], values: Mapping[str, object]) -> Message:
    key, template = choose_template(stage, templates)
    safe = {k: (one_line(v) if v is not None else None) for k, v in values.items()}
    return Message(key, one_line(render(template["subject"], safe)), render(template["body"], safe))


# -- ROI ------------------------------------------------------------------------

CENT = Decimal("0.01")
ROI_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class WonDeal:
    opportunity_id: str
    account_id: str | None
    campaign_id: str | None
    amount: Decimal
    currency: str
    won_at: datetime | None


@dataclass
class Roi:
    cost: Decimal
    currency: str
    influenced_revenue: Decimal
    won_deals: int
    roi: Decimal | None
    deals: list[tuple[WonDeal, str]] = field(default_factory=list)
    other_currencies: dict[str, Decimal] = field(default_factory=dict)


def influence(campaign_id: str, deal: WonDeal, responses: Mapping[str, datetime]) -> str | None:
    """Why a won deal counts for the campaign, or None: "campaign" when the
    deal names it, "response" when a member at the deal's account responded
    at or before the win. ``responses``: account id → earliest response."""
    if deal.campaign_id == campaign_id:
        return "campaign"
    first = responses.get(deal.account_id) if deal.account_id else None
    if first is not None and deal.won_at is not None and first <= deal.won_at:
        return "response"
    return None


def roi_ratio(revenue: Decimal, cost: Decimal) -> Decimal | None:
    """(revenue - cost) / cost to four places (half up); None when cost is 0."""
    if not cost:
        return None
    return ((revenue - cost) / cost).quantize(ROI_PLACES, rounding=ROUND_HALF_UP)


def compute_roi(campaign_id: str, cost: Decimal, currency: str, deals: Iterable[WonDeal],
                responses: Mapping[str, datetime]) -> Roi:
    """Sum influenced deals in the cost's currency exactly (Decimal); deals in
    another currency are counted but kept apart (no conversion)."""
    revenue = Decimal("0.00")
    result = Roi(cost=Decimal(cost).quantize(CENT), currency=currency, influenced_revenue=revenue, won_deals=0, roi=None)
    for deal in deals:
        reason = influence(campaign_id, deal, responses)
        if reason is None:
            continue
        result.deals.append((deal, reason))
        result.won_deals += 1
        if deal.currency == currency:
            revenue += Decimal(deal.amount)
        else:
            result.other_currencies[deal.currency] = result.other_currencies.get(deal.currency, Decimal("0")) + deal.amount
    result.influenced_revenue = revenue.quantize(CENT)
    result.roi = roi_ratio(result.influenced_revenue, result.cost)
    return result
