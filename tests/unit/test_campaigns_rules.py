"""Campaigns' pure rules: segment matching, template choice and safe
rendering, ROI arithmetic with Decimal (no I/O)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.campaigns import rules
from services.campaigns.mailer import SmtpUrl, build_message, message_id
from services.campaigns.rules import Target, WonDeal

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def seg(**criteria) -> dict:
    return rules.normalise_segment(criteria, "EUR")


def target(**kw) -> Target:
    base = dict(contact_id="c1", account_id="a1", lifecycle_stage="prospect", interests=("exportación",),
                industry="Alimentación y bebidas", country="ES", region="La Rioja", account_segment="relational",
                revenue_amount=Decimal("9200000.00"), revenue_currency="EUR", has_account=True)
    base.update(kw)
    return Target(**base)


# -- segments -----------------------------------------------------------------------

def test_an_empty_segment_matches_every_contact_even_without_an_account():
    assert rules.matches(seg(), target())
    assert rules.matches(seg(), target(has_account=False, industry=None, country=None))


@pytest.mark.parametrize("criteria,expected", [
    ({"industry": ["alimentación Y  bebidas"]}, True),      # case and spacing do not matter
    ({"industry": ["Logística", "Alimentación y bebidas"]}, True),  # OR within a criterion
    ({"industry": ["Logística"]}, False),
    ({"country": ["es"]}, True),                             # codes are normalised to upper case
    ({"country": ["MX"]}, False),
    ({"region": ["la rioja"]}, True),
    ({"account_segment": ["solutions"]}, False),
    ({"lifecycle_stage": ["prospect", "potential_customer"]}, True),
    ({"lifecycle_stage": ["active_customer"]}, False),
    ({"interests": ["formación", "Exportación"]}, True),     # any shared interest
    ({"interests": ["movilidad"]}, False),
    ({"industry": ["Alimentación y bebidas"], "country": ["MX"]}, False),  # AND across criteria
    ({"annual_revenue_min": {"amount": "9200000.00", "currency": "EUR"}}, True),  # bounds are inclusive
    ({"annual_revenue_max": "9200000"}, True),               # a bare amount is in the campaign's currency
    ({"annual_revenue_min": "9200000.01"}, False),
    ({"annual_revenue_max": {"amount": "1000000", "currency": "EUR"}}, False),
    ({"annual_revenue_min": {"amount": "1", "currency": "USD"}}, False),  # no currency conversion
])
def test_segment_criteria(criteria, expected):
    assert rules.matches(seg(**criteria), target()) is expected


def test_account_criteria_never_match_a_contact_without_a_live_account():
    lonely = target(has_account=False, industry=None, country=None, region=None, account_segment=None,
                    revenue_amount=None, revenue_currency=None)
    assert not rules.matches(seg(country=["ES"]), lonely)
    assert rules.matches(seg(lifecycle_stage=["prospect"]), lonely)


def test_unknown_revenue_never_matches_a_revenue_bound():
    assert not rules.matches(seg(annual_revenue_min="0"), target(revenue_amount=None, revenue_currency=None))


def test_normalised_segment_keeps_every_list_and_money_as_strings():
    out = seg(country=["es", "ES", "mx"], annual_revenue_min=Decimal("1000"))
    assert out["country"] == ["ES", "MX"]
    assert out["annual_revenue_min"] == {"amount": "1000.00", "currency": "EUR"}
    assert out["annual_revenue_max"] is None
    assert out["industry"] == [] and out["interests"] == []


def test_inconsistent_revenue_bounds_are_reported():
    assert rules.segment_problems(seg(annual_revenue_min="10", annual_revenue_max="5"))
    assert rules.segment_problems(seg(annual_revenue_min={"amount": "1", "currency": "USD"},
                                      annual_revenue_max={"amount": "5", "currency": "EUR"}))
    assert not rules.segment_problems(seg(annual_revenue_min="5", annual_revenue_max="5"))


# -- templates ----------------------------------------------------------------------

TEMPLATES = {
    "prospect": {"subject": "Hola {first_name}", "body": "Para {account_name}"},
    "customer": {"subject": "Gracias {first_name}", "body": "Cliente {account_name}"},
    "default": {"subject": "Hi", "body": "Default"},
}


@pytest.mark.parametrize("stage,key", [
    ("prospect", "prospect"), ("potential_customer", "prospect"),
    ("active_customer", "customer"), ("inactive_customer", "customer"),
])
def test_prospects_and_customers_get_different_templates(stage, key):
    assert rules.choose_template(stage, TEMPLATES)[0] == key


def test_a_stage_template_wins_over_its_group_and_default_is_the_fallback():
    templates = {**TEMPLATES, "inactive_customer": {"subject": "We miss you", "body": "Come back"}}
    assert rules.choose_template("inactive_customer", templates)[0] == "inactive_customer"
    assert rules.choose_template("active_customer", {"default": TEMPLATES["default"]})[0] == "default"


def test_without_templates_the_builtin_texts_still_differ_by_lifecycle():
    prospect = rules.compose("prospect", {}, {"first_name": "Ana", "account_name": "Bodegas", "campaign_name": "C"})
    customer = rules.compose("active_customer", {}, {"first_name": "Ana", "account_name": "Bodegas",
                                                     "campaign_name": "C"})
    assert (prospect.template, customer.template) == ("builtin:prospect", "builtin:customer")
    assert prospect.body != customer.body and "Ana" in prospect.body and "Bodegas" in customer.body


def test_render_fills_known_placeholders_and_nothing_else():
    text = "Hola {first_name} de {account_name}: {{literal}} {first_name.__class__} {0} {missing"
    out = rules.render(text, {"first_name": "María", "account_name": None})
    assert out == "Hola María de : {literal} {first_name.__class__} {0} {missing"


def test_user_supplied_values_are_never_formatted_again():
    out = rules.render("Hola {first_name}", {"first_name": "{account_name} {0.__class__}"})
    assert out == "Hola {account_name} {0.__class__}"


def test_template_problems_name_unknown_placeholders():
    assert rules.template_problems("Hola {first_name} {{ok}}") == []
    problems = rules.template_problems("{first_name.__globals__} {ssn}")
    assert len(problems) == 1 and "{first_name.__globals__}" in problems[0] and "{ssn}" in problems[0]


def test_subjects_cannot_carry_header_injection():
    message = rules.compose("prospect", TEMPLATES, {"first_name": "Ana\r\nBcc: victim@example.test"})
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.subject == "Hola Ana Bcc: victim@example.test"


def test_messages_carry_a_message_id_derived_from_campaign_and_contact():
    msg = build_message(sender="Cadena <mk@cadena.local>", to_name="María López", to_email="maria@bodegas.es",
                        subject="Hola", body="Texto con acentos: ñ", campaign_id="camp", contact_id="cont")
    assert msg["Message-ID"] == message_id("camp", "cont", "cadena.local") == "<campaign-camp.cont@cadena.local>"
    assert msg["X-Cadena-Contact-Id"] == "cont"
    assert b"maria@bodegas.es" in msg.as_bytes()


@pytest.mark.parametrize("url,expected", [
    ("smtp://127.0.0.1:8025", SmtpUrl("127.0.0.1", 8025)),
    ("smtps://u%40x:p@mail.example.test", SmtpUrl("mail.example.test", 465, tls=True, username="u@x", password="p")),
    ("smtp://mail:587?starttls=1", SmtpUrl("mail", 587, starttls=True)),
])
def test_smtp_urls(url, expected):
    assert SmtpUrl.parse(url) == expected


def test_a_non_smtp_url_is_refused():
    with pytest.raises(ValueError):
        SmtpUrl.parse("http://127.0.0.1:8025")


# -- ROI ----------------------------------------------------------------------------

def deal(oid, amount, *, account="a1", campaign=None, won_at=T0, currency="EUR"):
    return WonDeal(oid, account, campaign, Decimal(amount), currency, won_at)


def test_a_deal_naming_the_campaign_is_influenced():
    assert rules.influence("camp", deal("o1", "10", campaign="camp", account="elsewhere"), {}) == "campaign"


def test_a_response_counts_only_if_it_came_before_the_win():
    responses = {"a1": T0 - timedelta(days=1)}
    assert rules.influence("camp", deal("o1", "10"), responses) == "response"
    assert rules.influence("camp", deal("o1", "10", won_at=T0 - timedelta(days=2)), responses) is None
    assert rules.influence("camp", deal("o1", "10", account="a2"), responses) is None
    assert rules.influence("camp", deal("o1", "10", campaign="other"), {}) is None


def test_roi_is_exact_to_the_cent_and_rounded_to_four_places():
    responses = {"a1": T0 - timedelta(hours=1)}
    deals = [deal("o1", "0.10"), deal("o2", "0.20"), deal("o3", "1000.05", campaign="camp", account="a9"),
             deal("o4", "999.99", account="a2")]  # o4: no response at a2
    result = rules.compute_roi("camp", Decimal("300.00"), "EUR", deals, responses)
    assert result.influenced_revenue == Decimal("1000.35")  # 0.1 + 0.2 is exactly 0.30 here
    assert result.won_deals == 3
    assert result.roi == Decimal("2.3345")  # (1000.35 - 300) / 300 = 2.33450
    assert [d.opportunity_id for d, _ in result.deals] == ["o1", "o2", "o3"]


def test_roi_rounds_half_up_and_may_be_negative():
    assert rules.roi_ratio(Decimal("1.00"), Decimal("3.00")) == Decimal("-0.6667")
    assert rules.roi_ratio(Decimal("0.00"), Decimal("10.00")) == Decimal("-1.0000")
    assert rules.roi_ratio(Decimal("100001.00"), Decimal("20000.00")) == Decimal("4.0001")  # 4.00005 → up


def test_zero_cost_has_no_roi():
    result = rules.compute_roi("camp", Decimal("0"), "EUR", [deal("o1", "50", campaign="camp")], {})
    assert result.roi is None and result.influenced_revenue == Decimal("50.00")


def test_deals_in_another_currency_are_kept_apart():
    result = rules.compute_roi("camp", Decimal("100"), "EUR",
                               [deal("o1", "150", campaign="camp"), deal("o2", "9000", campaign="camp", currency="MXN")],
                               {})
    assert result.influenced_revenue == Decimal("150.00") and result.won_deals == 2
    assert result.other_currencies == {"MXN": Decimal("9000")}
    assert result.roi == Decimal("0.5000")
