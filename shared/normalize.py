"""How people's and companies' names, e-mails, phones, websites and tax ids
are compared: folded to one spelling so that the search index (gateway) and
duplicate detection (accounts) agree on what "the same" means.

Pure functions, no I/O; docs/search.md explains each rule.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

import phonenumbers

# Numbers written without a country code are read as numbers of this region.
DEFAULT_PHONE_REGION = "ES"
# Fewer digits than this is not a phone number worth comparing.
MIN_PHONE_DIGITS = 6

# Letters NFKD does not take apart.
_LETTERS = str.maketrans({"ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l",
                          "Ł": "l", "đ": "d", "Đ": "d", "þ": "th", "Þ": "th", "ı": "i"})
_WORD = re.compile(r"[^\W_]+")

# Legal forms, compared once folded and without dots or spaces ("S.L.U." → "slu").
LEGAL_FORMS = frozenset({
    "sl", "sa", "slu", "sau", "sll", "slp", "slne", "scoop", "scp", "sc", "sau", "cb", "sad", "sas", "sac", "saa",
    "srl", "sarl", "spa", "sapi", "sadecv", "sderl", "ltd", "limited", "llc",
    "llp", "plc", "inc", "incorporated", "corp", "corporation", "co", "company", "gmbh", "ag", "kg", "ohg",
    "ug", "bv", "nv", "oy", "ab", "as", "aps", "sro", "spzoo", "kft", "ltda", "eirl", "eireli", "lda",
})
# Legal forms often written as several words, matched on the folded words.
_LEGAL_PHRASES = (("s", "a", "de", "c", "v"), ("sa", "de", "cv"), ("s", "de", "r", "l"), ("s", "coop"),
                  ("s", "l", "u"), ("s", "a", "u"), ("s", "l", "p"), ("s", "l"), ("s", "a"), ("s", "a", "c"),
                  ("s", "a", "s"), ("s", "r", "l"), ("s", "p", "a"), ("sp", "z", "o", "o"))


def fold(text: str | None) -> str:
    """Lower case without accents: "García" → "garcia", "MÜLLER" → "muller"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().translate(_LETTERS)


def words(text: str | None) -> list[str]:
    """The words of a text, folded: letters and digits, split on everything else."""
    return _WORD.findall(fold(text))


def raw_words(text: str | None) -> list[str]:
    """The words of a text as written (the search engines fold them themselves)."""
    return _WORD.findall(text or "")


def with_initials(parts: list[str]) -> list[str]:
    """The words, and each run of one-letter words joined up as well, so that
    "S.L." is found by "SL" and "S.A. de C.V." by "SA" or "CV"."""
    found, run = list(parts), []
    for word in [*parts, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        if len(run) > 1:
            found.append("".join(run))
        run = []
    return found


def digits(text: str | None) -> str:
    return "".join(c for c in (text or "") if c.isdigit())


# -- phones ------------------------------------------------------------------------------------------

def parse_phone(raw: str | None, region: str = DEFAULT_PHONE_REGION):
    """The number as libphonenumber reads it (with or without a country
    code, however it is spaced), or None when it is not a number."""
    text = (raw or "").strip()
    if len(digits(text)) < MIN_PHONE_DIGITS:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]  # the international prefix most of the world dials
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def phone_key(raw: str | None, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """One key per number: its national significant number ("+34 600 11 12 22",
    "600111222" and "0034-600-111-222" all give "600111222"); the bare
    digits when the text is not a number libphonenumber understands."""
    number = parse_phone(raw, region)
    if number is not None:
        return phonenumbers.national_significant_number(number) or None
    found = digits(raw)
    return found if len(found) >= MIN_PHONE_DIGITS else None


def phone_keys(raw: str | None, region: str = DEFAULT_PHONE_REGION) -> list[str]:
    """Every digit string a person may type for this number: the national
    number, the international one without "+", and the digits as written."""
    keys: list[str] = []
    number = parse_phone(raw, region)
    if number is not None:
        national = phonenumbers.national_significant_number(number)
        keys += [national, f"{number.country_code}{national}"]
    keys.append(digits(raw))
    return [k for k in dict.fromkeys(keys) if len(k) >= 3]


def looks_like_phone(text: str) -> bool:
    """Digits and the signs people write numbers with, and at least three digits."""
    return bool(re.fullmatch(r"[\d\s().\-/+]+", text or "")) and len(digits(text)) >= 3


# -- e-mails, websites, tax ids ------------------------------------------------------------------------

_GMAIL = {"gmail.com", "googlemail.com"}


def email_key(raw: str | None) -> str | None:
    """The mailbox an address delivers to: lower case, without a "+tag";
    Gmail ignores dots and knows googlemail.com as gmail.com."""
    text = (raw or "").strip().lower()
    if "@" not in text:
        return None
    local, _, domain = text.rpartition("@")
    local = local.split("+", 1)[0]
    domain = domain.rstrip(".")
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local and domain else None


def website_domain(raw: str | None) -> str | None:
    """The host of a website, however written: "HTTPS://www.Valdeolmos.es/contacto"
    and "valdeolmos.es" both give "valdeolmos.es"."""
    text = (raw or "").strip().lower()
    if not text:
        return None
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return None
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host if "." in host else None


def tax_key(raw: str | None, country: str | None = None) -> str | None:
    """A tax id's letters and digits in upper case, without the account's own
    country prefix (an EU VAT number "ES-B12345678" is the Spanish "B12345678")."""
    key = re.sub(r"[^0-9A-Z]", "", fold(raw).upper())
    if country and len(country) == 2 and key.startswith(country.upper()) and len(key) > 6:
        key = key[2:]
    return key or None


# -- names -------------------------------------------------------------------------------------------

def person_name_key(first: str | None, last: str | None) -> str | None:
    return " ".join(words(f"{first or ''} {last or ''}")) or None


def company_name_key(name: str | None) -> str | None:
    """A company's name without accents, case, punctuation or legal form:
    "Bodegas Valdeolmos, S.L." and "BODEGAS VALDEOLMOS SL" give "bodegas valdeolmos"."""
    parts = words(name)
    trimmed = True
    while parts and trimmed:
        trimmed = False
        for phrase in _LEGAL_PHRASES:
            if len(parts) > len(phrase) and tuple(parts[-len(phrase):]) == phrase:
                parts, trimmed = parts[:-len(phrase)], True
                break
        if not trimmed and len(parts) > 1 and parts[-1] in LEGAL_FORMS:
            parts, trimmed = parts[:-1], True
    return " ".join(parts) or None
