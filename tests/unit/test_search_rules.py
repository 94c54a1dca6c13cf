"""What the search index keeps from each event, and how the search text is read (no database)."""
from __future__ import annotations

import pytest

from gateway.search.documents import Document, Patch, Removal, changes_of
from gateway.search.query import fts5_match, parse, tsquery
from shared.http import Invalid
from tests.support.search import event


def test_a_contact_is_found_by_name_nickname_email_and_phone():
    [doc] = changes_of(event("accounts.contact.created", {
        "id": "c1", "version": 3, "first_name": "José", "last_name": "García", "nickname": "Pepe",
        "email": "pepe@valdeolmos.es", "phone": "+34 600 111 222", "title": "Director", "account_id": "a1"}))
    assert isinstance(doc, Document) and (doc.type, doc.id, doc.version, doc.account_id) == ("contact", "c1", 3, "a1")
    assert doc.title == "José García" and doc.title_key == "jose garcia"
    assert doc.subtitle == "Director · pepe@valdeolmos.es · +34 600 111 222"
    assert {"Pepe", "pepe", "valdeolmos", "Director"} <= set(doc.terms.split())
    assert {"600111222", "34600111222"} <= set(doc.keys.split())


def test_a_case_is_found_by_number_and_an_account_by_tax_id_and_domain():
    [case] = changes_of(event("support.case.opened", {"id": "k1", "number": 4821, "subject": "No imprime",
                                                      "status": "new", "priority": "high"}))
    assert case.title == "#4821 No imprime" and case.keys == "4821" and case.subtitle == "new · high"
    [account] = changes_of(event("accounts.account.updated", {
        "id": "a1", "name": "Aranda S.L.", "tax_id": "B-09412345", "website": "https://www.aranda.es/x",
        "city": "Burgos", "country": "ES", "industry": "Construcción"}))
    assert account.account_id == "a1" and account.subtitle == "Construcción · Burgos (ES)"
    assert "aranda es" in account.terms and "09412345" in account.keys.split()
    assert account.title_words == "Aranda S L SL"


def test_events_that_change_nothing_in_the_index():
    assert changes_of(event("accounts.contact.lifecycle_changed", {"contact_id": "c1", "from": "a", "to": "b"})) == []
    assert changes_of(event("support.case.commented", {"case_id": "k1", "body": "hola"})) == []
    assert changes_of(event("campaigns.campaign.created", {"id": "x", "name": "Black Friday"})) == []
    assert changes_of(event("activities.activity.reminder_due", {"activity_id": "t1"})) == []


def test_deletes_merges_and_closed_deals():
    assert changes_of(event("accounts.contact.deleted", {"id": "c1"})) == [Removal("contact", "c1")]
    assert changes_of(event("opportunities.opportunity.deleted", {"id": "o1", "opportunity_id": "o1"})) == \
        [Removal("opportunity", "o1")]
    assert changes_of(event("opportunities.opportunity.won", {"opportunity_id": "o1"})) == \
        [Patch("opportunity", "o1", {"stage": "closed_won"})]
    merged = changes_of(event("accounts.account.merged", {"survivor_id": "a1", "merged_ids": ["a2", "a3"]}))
    assert merged == [Removal("account", "a2", "merged", "a1"), Removal("account", "a3", "merged", "a1")]


def test_words_become_prefixes_for_both_engines():
    query = parse("García valdeol", None, None)
    assert query.words == ("garcia", "valdeol") and query.typed == ("García", "valdeol")
    assert tsquery(query) == "'García':* & 'valdeol':*"
    assert fts5_match(query) == '"García"* AND "valdeol"*'
    assert query.title_key == "garcia valdeol" and query.phone_keys == ()


def test_a_phone_number_becomes_its_digit_keys():
    query = parse("+34 600 11 12 22", "contact", 5)
    assert query.types == ("contact",) and query.limit == 5
    assert tsquery(query) == "'600111222':* | '34600111222':*"
    assert fts5_match(query) == '"600111222"* OR "34600111222"*'


def test_typo_alternatives_are_exact_known_words():
    query = parse("garsia ana", None, None)
    assert query.fuzzy_words() == ["garsia"]  # "ana" is too short to correct
    fixed = query.with_alternatives({"garsia": ["garcia", "garsia"]})
    assert tsquery(fixed) == "('garsia':* | 'garcia') & 'ana':*"
    assert fts5_match(fixed) == '("garsia"* OR "garcia") AND "ana"*'


def test_quotes_cannot_break_out_of_a_term():
    assert tsquery(parse("o'brien", None, None)) == "'o' & 'brien':*"  # a short word beside others: whole
    assert tsquery(parse("x:*|y", None, None)) == "'x' & 'y'"


@pytest.mark.parametrize("q, types, limit, field", [
    ("", None, None, "q"), ("  ", None, None, "q"), ("!!", None, None, "q"), ("x" * 201, None, None, "q"),
    ("ana", "account,planet", None, "types"), ("ana", None, 0, "limit"), ("ana", None, 101, "limit")])
def test_bad_parameters_name_the_field(q, types, limit, field):
    with pytest.raises(Invalid) as raised:
        parse(q, types, limit)
    assert field in raised.value.errors


def test_types_keep_their_order_and_default_to_all():
    assert parse("ana", " case , account ", None).types == ("account", "case")
    assert parse("ana", "", None).types == ("account", "contact", "opportunity", "case", "activity")


def test_a_short_word_beside_others_matches_whole_but_alone_as_a_prefix():
    assert tsquery(parse("pepe@valdeolmos.es", None, None)) == "'pepe':* & 'valdeolmos':* & 'es'"
    assert fts5_match(parse("aranda sl", None, None)) == '"aranda"* AND "sl"'
    assert tsquery(parse("es", None, None)) == "'es':*"


def test_a_prefix_spelled_out_as_known_words_is_matched_exactly():
    query = parse("lopez gar", None, None).with_expansions({"lopez": ["lopez", "lopezs"], "gar": []})
    assert tsquery(query) == "('lopez' | 'lopezs') & 'gar':*"
    assert fts5_match(query) == '"lopez"* AND "gar"*'  # SQLite keeps its prefixes
