"""How names, phones, e-mails, websites and tax ids are compared (search and duplicates)."""
from __future__ import annotations

import pytest

from shared import normalize as n


def test_fold_drops_case_and_accents():
    assert n.fold("García MUÑOZ") == "garcia munoz"
    assert n.fold("Straße Øresund Ærø Łódź") == "strasse oresund aero lodz"
    assert n.words("ana.garcía@acme.es, S.L.") == ["ana", "garcia", "acme", "es", "s", "l"]
    assert n.fold(None) == "" and n.words("") == []


def test_initials_are_joined_so_sl_finds_s_l():
    assert n.with_initials(["Aranda", "S", "L"]) == ["Aranda", "S", "L", "SL"]
    assert n.with_initials(["Azteca", "S", "A", "de", "C", "V"]) == ["Azteca", "S", "A", "de", "C", "V", "SA", "CV"]


@pytest.mark.parametrize("typed", ["+34 600 11 12 22", "600111222", "0034-600-111-222", "(+34) 600.111.222",
                                   "600 111 222"])
def test_a_phone_has_one_key_however_it_is_typed(typed):
    assert n.phone_key(typed) == "600111222"
    assert {"600111222", "34600111222"} <= set(n.phone_keys(typed))


def test_phones_of_other_countries_and_non_numbers():
    assert n.phone_key("+52 55 1234 5678") == "5512345678"
    assert n.phone_key("+44 20 7946 0958") == "2079460958"
    assert n.phone_key("12 34") is None and n.phone_keys("abc") == []
    assert n.phone_key("ext. 123456") == "123456"  # not a number libphonenumber knows: the digits


def test_what_looks_like_a_phone():
    assert n.looks_like_phone("+34 600 111 222") and n.looks_like_phone("(+34) 600.111.222")
    assert n.looks_like_phone("4821")
    assert not n.looks_like_phone("#4821") and not n.looks_like_phone("ana 600") and not n.looks_like_phone("12")


def test_email_key_is_the_mailbox():
    assert n.email_key(" Ana.Garcia+crm@Acme.ES ") == "ana.garcia@acme.es"
    assert n.email_key("a.n.a+x@googlemail.com") == n.email_key("ana@gmail.com") == "ana@gmail.com"
    assert n.email_key("not an address") is None and n.email_key(None) is None


@pytest.mark.parametrize("typed", ["https://www.valdeolmos.es/contacto", "HTTP://VALDEOLMOS.ES", "valdeolmos.es",
                                   "www.valdeolmos.es:443/", "valdeolmos.es."])
def test_website_domain_drops_scheme_www_path_and_case(typed):
    assert n.website_domain(typed) == "valdeolmos.es"


def test_website_domain_of_nonsense_is_none():
    assert n.website_domain("") is None and n.website_domain("localhost") is None
    assert n.website_domain("http://[broken") is None


def test_tax_key_keeps_letters_and_digits_and_drops_the_own_country_prefix():
    assert n.tax_key("b-12.345.678") == "B12345678"
    assert n.tax_key("ES B12345678", "ES") == n.tax_key("B12345678", "ES") == "B12345678"
    assert n.tax_key("ES B12345678", "PT") == "ESB12345678"
    assert n.tax_key("76.123.456-7", "CL") == "761234567"
    assert n.tax_key("", "ES") is None


@pytest.mark.parametrize("name", ["Bodegas Valdeolmos, S.L.", "BODEGAS VALDEOLMOS SL", "Bodegas Valdeolmos S.L.U.",
                                  "bodegas valdeolmos", "Bodegas Valdeolmos SA", "Bodegas Valdeolmos S.A."])
def test_company_names_without_legal_form_accents_or_case(name):
    assert n.company_name_key(name) == "bodegas valdeolmos"


def test_more_legal_forms():
    assert n.company_name_key("Comercializadora Azteca S.A. de C.V.") == "comercializadora azteca"
    assert n.company_name_key("Agrícola Campo de Cartagena S.Coop.") == "agricola campo de cartagena"
    assert n.company_name_key("Müller GmbH") == "muller" and n.company_name_key("Acme Ltd.") == "acme"
    assert n.company_name_key("Retail Andino SpA") == "retail andino"
    assert n.company_name_key("S.A.") == "s a"  # a name that is only a legal form stays a name
    assert n.person_name_key("José", "García") == "jose garcia" and n.person_name_key(None, None) is None
