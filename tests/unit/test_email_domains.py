"""The e-mail check remembers each domain's answer (shared.schemas): the
same verdict and the same normalised address as the library's own check."""
from __future__ import annotations

import importlib

from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import schemas  # noqa: F401 (puts the remembered check in place)

module = importlib.import_module("email_validator.validate_email")
remembered = module.validate_email_domain_name

DOMAINS = st.sampled_from(["bodegas.es", "Bodegas.ES", "xn--ndu-lqa.es", "ñandú.es", "cadena.local", "localhost",
                           "a..b", "-x.es", "x" * 64 + ".es", "ex ample.com", "example.invalid", "bench.example",
                           "münchen.de", "1.2.3.4", "[1.2.3.4]", "co", "", "test", "x.y.z.w.example.com"])
LOCALS = st.sampled_from(["ana", "Ana.García", "ana+crm", "\"quoted\"", "a" * 65, "ñ", "", "a..b", ".a", "postmaster"])


def _verdict(address: str):
    try:
        found = validate_email(address, check_deliverability=False)
        return found.normalized, found.ascii_email, found.domain, found.smtputf8
    except EmailNotValidError as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=300, deadline=None)
@given(LOCALS, DOMAINS)
def test_a_remembered_domain_gives_the_librarys_own_verdict(local, domain):
    address = f"{local}@{domain}"
    ours = _verdict(address)
    module.validate_email_domain_name = remembered.original
    try:
        theirs = _verdict(address)
    finally:
        module.validate_email_domain_name = remembered
    assert ours == theirs


def test_a_domain_is_checked_once_and_its_answer_not_shared():
    before = remembered.remembered.cache_info().hits
    for i in range(5):
        assert validate_email(f"ana{i}@remembered-once.es", check_deliverability=False).domain == "remembered-once.es"
    assert remembered.remembered.cache_info().hits - before >= 4
    first = remembered("remembered-once.es")
    first["domain"] = "changed.es"  # a caller changing its copy changes nobody else's
    assert remembered("remembered-once.es")["domain"] == "remembered-once.es"
