"""Property tests (hypothesis) for the rules that are arithmetic: money
amounts, keyset cursors, the pipeline and forecast math, campaign ROI.
Pure functions only: no database, no broker."""
from __future__ import annotations

import importlib.util
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from shared.http import Invalid, decode_cursor, encode_cursor
from shared.schemas import Money, MoneyAmount

# No per-example deadline: a loaded CI machine must not turn a slow example into a failure.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

CENT = Decimal("0.01")
LIMIT = Decimal("1e15")  # MoneyAmount refuses amounts this large
amounts = st.decimals(min_value=-LIMIT + CENT, max_value=LIMIT - CENT, places=2, allow_nan=False,
                      allow_infinity=False)
non_negative = st.decimals(min_value=0, max_value=Decimal("1e9"), places=2, allow_nan=False, allow_infinity=False)


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


# -- money ------------------------------------------------------------------------------

@relaxed
@given(amounts)
def test_money_amount_round_trips_through_its_string_form(value):
    field = MoneyAmount()
    text = field._serialize(value, "amount", None)
    assert re.fullmatch(r"-?\d+\.\d{2}", text)
    assert field.deserialize(text) == value
    assert field.deserialize(str(value)) == value
    assert field._serialize(field.deserialize(text), "amount", None) == text


@relaxed
@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_money_amount_accepts_whole_numbers(value):
    assert MoneyAmount().deserialize(value) == Decimal(value)


@relaxed
@given(st.integers(min_value=-(10**14), max_value=10**14), st.text("0123456789", min_size=3, max_size=8))
def test_money_amount_rejects_more_than_two_decimal_places(whole, fraction):
    with pytest.raises(ValidationError):
        MoneyAmount().deserialize(f"{whole}.{fraction}")


@relaxed
@given(st.floats())
def test_money_amount_rejects_every_float(value):
    with pytest.raises(ValidationError):
        MoneyAmount().deserialize(value)


@relaxed
@given(st.decimals(min_value=LIMIT, allow_nan=False, allow_infinity=False, places=2) | st.just(Decimal("-1e15")))
def test_money_amount_rejects_amounts_out_of_range(value):
    with pytest.raises(ValidationError):
        MoneyAmount().deserialize(str(value))


@relaxed
@given(st.text(max_size=30) | st.booleans() | st.none() | st.lists(st.integers(), max_size=2))
def test_money_amount_never_fails_with_anything_but_a_validation_error(value):
    try:
        result = MoneyAmount().deserialize(value)
    except ValidationError:
        return
    assert isinstance(result, Decimal) and result.is_finite() and result.as_tuple().exponent >= -2


@relaxed
@given(amounts, st.sampled_from(["EUR", "USD", "JPY", "GBP"]))
def test_money_schema_load_then_dump_is_the_canonical_form(value, currency):
    schema = Money()
    loaded = schema.load({"amount": str(value), "currency": currency})
    assert loaded == {"amount": value, "currency": currency}
    assert schema.dump(loaded) == {"amount": f"{value:.2f}", "currency": currency}


# -- keyset cursors -----------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31),
                       timezones=st.just(timezone.utc))


@relaxed
@given(moments, st.uuids())
def test_cursor_of_created_at_and_id_round_trips(created_at, ident):
    cursor = encode_cursor([created_at, str(ident)])
    assert re.fullmatch(r"[A-Za-z0-9_-]*", cursor)  # safe in a query string as it is
    created_raw, last_id = decode_cursor(cursor)
    assert datetime.fromisoformat(created_raw) == created_at
    assert last_id == str(ident)


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)


@relaxed
@given(st.lists(json_scalars, min_size=1, max_size=4))
def test_cursor_round_trips_any_json_values_of_its_arity(values):
    assert decode_cursor(encode_cursor(values), arity=len(values)) == values


@relaxed
@given(st.lists(json_scalars, min_size=1, max_size=4), st.integers(min_value=1, max_value=5))
def test_cursor_of_another_arity_is_refused(values, arity):
    assume(arity != len(values))
    with pytest.raises(Invalid):
        decode_cursor(encode_cursor(values), arity=arity)


@relaxed
@given(st.text(max_size=60))
def test_garbage_cursor_is_a_422_never_a_crash(text):
    try:
        values = decode_cursor(text)
    except Invalid as exc:
        assert exc.status == 422 and "cursor" in exc.errors
        return
    assert isinstance(values, list) and len(values) == 2


# -- opportunities: line items, pipeline weighting, forecast attainment ----------------------

opportunities = pytest.mark.skipif(not has_module("services.opportunities.rules"),
                                   reason="the opportunities service is not part of this build")
quantities = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=2)
prices = st.decimals(min_value=0, max_value=Decimal("100000"), places=2)
probabilities = st.integers(min_value=0, max_value=100)


@opportunities
@relaxed
@given(quantities, prices)
def test_a_line_total_is_the_product_rounded_half_up_to_the_cent(quantity, price):
    from services.opportunities import rules

    total = rules.line_total(quantity, price)
    assert total.as_tuple().exponent == -2
    assert abs(total - quantity * price) <= Decimal("0.005")
    assert total == (quantity * price).quantize(CENT, rounding="ROUND_HALF_UP")


@opportunities
@relaxed
@given(st.lists(st.tuples(quantities, prices), min_size=1, max_size=8))
def test_a_deal_derived_from_lines_is_worth_exactly_the_sum_of_line_totals(lines):
    from services.opportunities import rules

    items = [{"quantity": q, "unit_price": {"amount": p, "currency": "EUR"}} for q, p in lines]
    amount, errors = rules.check_lines(None, items)
    assert errors == {}
    total = sum((rules.line_total(q, p) for q, p in lines), Decimal("0"))
    assert amount == {"amount": total, "currency": "EUR"}  # the won-deal contract: Σ line totals == amount
    assert rules.check_lines(amount, items)[1] == {}
    assert "amount" in rules.check_lines({"amount": total + CENT, "currency": "EUR"}, items)[1]


@opportunities
@relaxed
@given(st.lists(st.tuples(non_negative, probabilities), max_size=30))
def test_pipeline_weighted_amount_is_rounded_once_and_the_same_from_cents(deals):
    """The pipeline keeps Σ(cents × probability) per bucket; turned into money it must equal
    Σ(amount × probability) / 100 rounded once, whatever the number of deals."""
    from services.opportunities import rules
    from services.opportunities.totals import cents_of

    exact = sum((amount * probability for amount, probability in deals), Decimal("0"))
    weighted = rules.weighted(exact)
    assert abs(weighted - exact / 100) <= Decimal("0.005")
    summed_cents = sum(cents_of(amount) * probability for amount, probability in deals)
    assert summed_cents == int(exact * 100)
    forecasting = pytest.importorskip("services.opportunities.forecasting")
    assert forecasting._weighted_money(summed_cents) == weighted


@opportunities
@relaxed
@given(non_negative, non_negative, non_negative)
def test_forecast_attainment_is_closed_won_over_quota_as_a_fraction(closed_won, quota, more):
    from services.opportunities import rules

    if quota == 0:
        assert rules.attainment(closed_won, quota) is None
        return
    fraction = rules.attainment(closed_won, quota)
    assert abs(Decimal(str(fraction)) - closed_won / quota) <= Decimal("0.00005")
    assert rules.attainment(closed_won + more, quota) >= fraction  # more won never lowers attainment
    assert rules.attainment(quota, quota) == 1.0 and rules.attainment(Decimal("0"), quota) == 0.0


@opportunities
@relaxed
@given(st.dates(min_value=date(1970, 1, 1), max_value=date(9998, 12, 31)))
def test_a_day_falls_in_its_own_quarter_and_month(day):
    from services.opportunities import rules

    for period in (rules.quarter_of(day), rules.month_of(day)):
        start, end = rules.parse_period(period)
        assert start <= day <= end
    start, end = rules.parse_period(rules.quarter_of(day))
    assert start.day == 1 and (end + timedelta(days=1)).day == 1 and (end.month - start.month) == 2


# -- campaigns: ROI ----------------------------------------------------------------------------

campaigns = pytest.mark.skipif(not has_module("services.campaigns.rules"),
                               reason="the campaigns service is not part of this build")


@campaigns
@relaxed
@given(non_negative, non_negative)
def test_roi_is_revenue_minus_cost_over_cost_to_four_places(revenue, cost):
    from services.campaigns import rules

    roi = rules.roi_ratio(revenue, cost)
    if cost == 0:
        assert roi is None
        return
    assert roi.as_tuple().exponent == -4
    assert abs(roi - (revenue - cost) / cost) <= Decimal("0.00005")
    assert rules.roi_ratio(cost, cost) == 0
    assert (roi > 0) == ((revenue - cost) / cost >= Decimal("0.00005"))


@campaigns
@relaxed
@given(st.lists(st.tuples(non_negative, st.sampled_from(["EUR", "EUR", "USD"]), st.booleans(), st.booleans(),
                          st.integers(min_value=-3, max_value=3)), max_size=12),
       non_negative, st.randoms())
def test_roi_counts_each_influenced_deal_once_in_any_order(specs, cost, random):
    from services.campaigns import rules

    campaign = "camp-1"
    base = datetime(2026, 6, 1, tzinfo=timezone.utc)
    deals, responses = [], {}
    for i, (amount, currency, names_campaign, responded, offset_days) in enumerate(specs):
        account = f"acc-{i}"
        if responded:
            responses[account] = base
        deals.append(rules.WonDeal(f"opp-{i}", account, campaign if names_campaign else None, amount, currency,
                                   base + timedelta(days=offset_days)))
    result = rules.compute_roi(campaign, cost, "EUR", deals, responses)
    influenced = [d for d, (_, _, named, responded, offset) in zip(deals, specs)
                  if named or (responded and offset >= 0)]
    assert result.won_deals == len(influenced)
    assert result.influenced_revenue == sum((d.amount for d in influenced if d.currency == "EUR"), Decimal("0"))
    assert result.other_currencies == ({"USD": sum(d.amount for d in influenced if d.currency == "USD")}
                                       if any(d.currency == "USD" for d in influenced) else {})
    assert result.roi == rules.roi_ratio(result.influenced_revenue, result.cost)
    shuffled = list(deals)
    random.shuffle(shuffled)
    again = rules.compute_roi(campaign, cost, "EUR", shuffled, responses)
    assert (again.influenced_revenue, again.won_deals, again.roi) == (result.influenced_revenue, result.won_deals,
                                                                       result.roi)
