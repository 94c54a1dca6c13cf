"""The common library's pure parts: envelopes, errors, cursors, topics."""
from __future__ import annotations

import json

import pytest

from shared import events
from shared.bus import topic_matches
from shared.http import Invalid, PreconditionFailed, decode_cursor, encode_cursor, ensure_version, flatten_errors


def test_new_event_is_a_valid_cloudevent_with_our_extensions():
    event = events.new_event(source="accounts", type="accounts.contact.created", subject="c1",
                             data={"id": "c1"}, correlation_id="req-1")
    decoded = events.decode(events.encode(event))
    assert decoded["specversion"] == "1.0"
    assert decoded["source"] == "/cadena/accounts"
    assert decoded["type"] == "accounts.contact.created"
    assert decoded["subject"] == "c1"
    assert decoded["datacontenttype"] == "application/json"
    assert decoded["correlationid"] == "req-1"
    assert decoded["dataversion"] == "1"
    assert decoded["data"] == {"id": "c1"}
    assert decoded["id"] == event["id"]


@pytest.mark.parametrize("body", [b"", b"garbage", b"[]", b'{"specversion": "1.0"}',
                                  json.dumps({"specversion": "0.3", "id": "x", "source": "/s", "type": "t"}).encode()])
def test_decode_rejects_what_is_not_a_cloudevent(body):
    with pytest.raises(events.InvalidEvent):
        events.decode(body)


def test_decode_rejects_non_object_data():
    body = json.dumps({"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": [1, 2]}).encode()
    with pytest.raises(events.InvalidEvent):
        events.decode(body)


@pytest.mark.parametrize("pattern,key,expected", [
    ("accounts.#", "accounts.contact.created", True),
    ("accounts.*.created", "accounts.contact.created", True),
    ("accounts.*", "accounts.contact.created", False),
    ("#", "anything.at.all", True),
    ("opportunities.opportunity.won", "opportunities.opportunity.lost", False),
])
def test_topic_matching_follows_amqp_rules(pattern, key, expected):
    assert topic_matches(pattern, key) is expected


def test_flatten_errors_gives_dotted_field_paths():
    nested = {"json": {"name": ["Missing."], "billing_address": {"country": ["Bad."]}, "tags": {0: ["Too long."]}}}
    assert flatten_errors(nested) == {"name": ["Missing."], "billing_address.country": ["Bad."], "tags.0": ["Too long."]}


def test_cursor_round_trip_and_garbage():
    cursor = encode_cursor(["2026-11-23T10:00:00+00:00", "abc"])
    assert decode_cursor(cursor) == ["2026-11-23T10:00:00+00:00", "abc"]
    with pytest.raises(Invalid):
        decode_cursor("not-a-cursor")


def test_stale_if_match_is_a_412():
    ensure_version(3, None)
    ensure_version(3, {'"3"'})
    with pytest.raises(PreconditionFailed):
        ensure_version(3, {'"2"'})


def test_a_verified_token_is_remembered_until_its_expiry_or_the_limit():
    import time as _time

    import pytest as _pytest

    from shared.auth import TokenVerifier
    from shared.http import Unauthorized
    from tests.support import auth as test_auth

    lookups = []

    def resolver(token):
        lookups.append(token)
        return test_auth._key().public_key()

    verifier = TokenVerifier(key_resolver=resolver, remember=60)
    token = test_auth.token("rep", ttl=2)
    assert verifier.verify(token).role == "rep"
    assert verifier.verify(token).role == "rep"
    assert len(lookups) == 1  # the second time, no signature check
    _time.sleep(2.2)
    with _pytest.raises(Unauthorized):
        verifier.verify(token)  # remembered only until exp: checked again, and expired
    assert len(lookups) == 2

    short = TokenVerifier(key_resolver=resolver, remember=0.2, max_remembered=1)
    one, two = test_auth.token("rep"), test_auth.token("manager")
    short.verify(one), short.verify(two), short.verify(one)  # one was evicted by two
    assert len(lookups) == 5
    _time.sleep(0.3)
    short.verify(one)
    assert len(lookups) == 6


def test_a_value_the_database_cannot_hold_is_a_422_problem():
    from flask import Flask
    from sqlalchemy.exc import DataError

    from shared.http import install_problem_handlers
    from shared.observability import get_logger

    app = Flask("t")
    install_problem_handlers(app, get_logger("t"))

    @app.get("/boom")
    def boom():
        raise DataError("SELECT 1", {}, Exception("value out of range for type bigint"))

    reply = app.test_client().get("/boom")
    assert reply.status_code == 422 and reply.mimetype == "application/problem+json"
    assert "bigint" not in reply.get_data(as_text=True)  # nothing internal in the answer


def test_the_command_runs_as_a_module_as_every_process_starts_it():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "shared.cli", "events", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "replay-dlq" in done.stdout


def test_settings_are_the_only_reader_of_the_environment():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    allowed = {root / "shared/config.py", root / "console/settings.py"}
    readers = [str(p.relative_to(root)) for folder in ("shared", "services", "gateway", "console")
               for p in (root / folder).rglob("*.py")
               if p not in allowed and re.search(r"os\.environ|os\.getenv|getenv\(", p.read_text())]
    assert readers == []


def test_a_components_own_settings_come_from_its_variables(monkeypatch):
    from shared import config

    monkeypatch.setenv("CADENA_CAMPAIGNS_MAIL_FROM", "ventas@cadena.local")
    monkeypatch.setenv("CADENA_CAMPAIGNS_URL", "http://elsewhere")
    assert config.load("campaigns").extra == {"mail_from": "ventas@cadena.local"}
