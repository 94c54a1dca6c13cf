"""Support's pure rules: the status workflow, SLA due times, case references
in subjects and reading inbound e-mail (no I/O)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from services.support import rules

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

LEGAL = {
    ("new", "open"), ("new", "pending"), ("new", "resolved"), ("new", "closed"),
    ("open", "pending"), ("open", "resolved"), ("open", "closed"),
    ("pending", "open"), ("pending", "resolved"), ("pending", "closed"),
    ("resolved", "open"), ("resolved", "closed"),
}


@pytest.mark.parametrize("current", rules.STATUSES)
@pytest.mark.parametrize("target", rules.STATUSES)
def test_status_workflow_table(current, target):
    if current == target:
        assert rules.check_transition(current, target) is False  # not a move: nothing changes
    elif (current, target) in LEGAL:
        assert rules.check_transition(current, target) is True
    else:
        with pytest.raises(rules.IllegalTransition) as exc:
            rules.check_transition(current, target)
        assert exc.value.allowed == sorted(t for c, t in LEGAL if c == current)


def test_closed_is_final_and_reopen_is_resolved_to_open():
    assert rules.TRANSITIONS["closed"] == frozenset()
    assert rules.check_transition("resolved", "open")
    with pytest.raises(rules.IllegalTransition):
        rules.check_transition("resolved", "pending")
    with pytest.raises(rules.IllegalTransition):
        rules.check_transition("open", "new")


@pytest.mark.parametrize("priority,first,resolution", [
    ("urgent", timedelta(hours=1), timedelta(hours=4)),
    ("high", timedelta(hours=4), timedelta(hours=24)),
    ("normal", timedelta(hours=8), timedelta(hours=72)),
    ("low", timedelta(hours=24), timedelta(hours=120)),
])
def test_default_sla_due_times(priority, first, resolution):
    assert rules.due_times(T0, rules.DEFAULT_POLICY, priority) == (T0 + first, T0 + resolution)


def test_due_times_follow_the_policy_given():
    policy = {**rules.DEFAULT_POLICY, "urgent": {"first_response_seconds": 90, "resolution_seconds": 600}}
    assert rules.due_times(T0, policy, "urgent") == (T0 + timedelta(seconds=90), T0 + timedelta(minutes=10))
    assert rules.due_times(T0, {}, "low") == rules.due_times(T0, rules.DEFAULT_POLICY, "low")


@pytest.mark.parametrize("subject,number", [
    ("Re: [#42] Printer on fire", 42),
    ("[#7]", 7),
    ("RE: RV: [# 1234 ] factura", 1234),
    ("Re: [#12] and [#13]", 12),
    ("Order #42 is late", None),
    ("[42] no hash", None),
    ("[#abc]", None),
    ("", None),
    (None, None),
])
def test_reference_in_subject(subject, number):
    assert rules.parse_reference(subject) == number


def _mail(**headers) -> EmailMessage:
    msg = EmailMessage()
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    return msg


def test_parses_a_plain_message():
    msg = _mail(From='"María García" <Maria.Garcia@Bodegas.es>', To="soporte@cadena.local",
                Subject="Re: [#42]  No  funciona la facturación", Message_ID="<abc@bodegas.es>")
    msg.set_content("Hola,\nsigue sin funcionar.\n")
    mail = rules.parse_email(msg.as_bytes())
    assert mail.sender == "maria.garcia@bodegas.es"
    assert mail.sender_name == "María García"
    assert mail.subject == "Re: [#42] No funciona la facturación"
    assert mail.text == "Hola,\nsigue sin funcionar."
    assert mail.message_id == "<abc@bodegas.es>"


def test_prefers_the_text_part_and_reads_html_only_mail():
    msg = _mail(From="a@b.example", Subject="Both")
    msg.set_content("plain words")
    msg.add_alternative("<p>html <b>words</b></p>", subtype="html")
    assert rules.parse_email(msg.as_bytes()).text == "plain words"
    html = _mail(From="a@b.example", Subject="Only html")
    html.set_content("<html><head><style>p{}</style></head><body><p>Line one</p><p>Line &amp; two</p></body></html>",
                     subtype="html")
    assert rules.parse_email(html.as_bytes()).text == "Line one\nLine & two"


def test_encoded_headers_and_latin1_body():
    raw = ("From: =?utf-8?q?Jos=C3=A9?= <jose@example.es>\r\nSubject: =?iso-8859-1?q?Facturaci=F3n?=\r\n"
           "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Se\xf1or\r\n").encode("latin-1")
    mail = rules.parse_email(raw)
    assert (mail.sender_name, mail.subject, mail.text) == ("José", "Facturación", "Señor")


def test_a_message_without_subject_gets_one():
    msg = _mail(From="a@b.example")
    msg.set_content("Just text")
    assert rules.parse_email(msg.as_bytes()).subject == "(no subject)"


@pytest.mark.parametrize("raw,field", [
    (b"", "body"),
    (b"   \r\n", "body"),
    (b"\x00\xff\xfe garbage without headers", "From"),
    (b"Subject: hello\r\n\r\nno sender", "From"),
    (b"From: not an address\r\nSubject: x\r\n\r\nbody", "From"),
    (b"From: <>\r\nSubject: x\r\n\r\nbody", "From"),
    (b"From: a@b.example\r\n\r\n", "body"),
])
def test_garbage_is_refused_with_a_reason(raw, field):
    with pytest.raises(rules.BadEmail) as exc:
        rules.parse_email(raw)
    assert exc.value.field == field


@pytest.mark.parametrize("text,new", [
    ("Thanks, fixed!\n\nOn Mon, 23 Nov 2026 Soporte wrote:\n> old text\n> more", "Thanks, fixed!"),
    ("Gracias\nEl lun, 23 nov 2026, Soporte escribió:\n> antiguo", "Gracias"),
    ("Top\n> quoted\nbottom", "Top\nbottom"),
    ("> only quoted", "> only quoted"),
])
def test_strip_quoted_keeps_the_new_part(text, new):
    assert rules.strip_quoted(text) == new
