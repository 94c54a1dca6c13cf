"""Languages: choice, Accept-Language, formatting, and complete catalogues."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo

from console import catalog
from tests.console.fake_api import ACCOUNT_ID


def test_spanish_is_the_default(client):
    assert '<html lang="es">' in client.get("/login").get_data(as_text=True)


def test_accept_language_is_followed(client):
    html = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Sign in to Cadena" in html


def test_the_chosen_language_is_remembered(client):
    client.get("/login?lang=en")
    html = client.get("/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="en">' in html


def test_money_and_dates_follow_the_language(signed_in):
    spanish = signed_in.get(f"/accounts/{ACCOUNT_ID}").get_data(as_text=True)
    english = signed_in.get(f"/accounts/{ACCOUNT_ID}?lang=en").get_data(as_text=True)
    assert "12.600,50\xa0€" in spanish
    assert "€12,600.50" in english and "Health" in english and "1 open case" in english


def test_every_text_is_translated_in_both_languages():
    template = catalog.extract()
    assert len([m for m in template if m.id]) > 100
    for lang in catalog.LANGUAGES:
        assert catalog.untranslated(template, catalog.read(lang)) == [], lang


def test_the_compiled_catalogues_match_their_sources():
    for lang in catalog.LANGUAGES:
        source = catalog.read(lang)
        with Path(catalog.po_path(lang).with_suffix(".mo")).open("rb") as fh:
            shipped = read_mo(fh)
        assert _pairs(shipped) == _pairs(source), lang


def _pairs(messages) -> dict:
    flat = lambda v: v if isinstance(v, str) else tuple(v)  # noqa: E731
    return {flat(m.id): flat(m.string) for m in messages if m.id}
