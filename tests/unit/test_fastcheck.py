"""The quick contract check and the quick event decode only ever say what
marshmallow and the CloudEvents SDK would say: a payload the quick check
passes loads with its schema, and an event the quick decode reads is the
SDK's event, attribute for attribute."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields

from shared import events
from shared.contracts import catalogue
from shared.fastcheck import compile_schema

ODD = st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.just("12"), st.just(""),
    st.just("2026-13-45T10:00:00Z"), st.just("2026-11-27"), st.just("2026-11-27T10:00:00"), st.just("24:00"),
    st.text(min_size=60, max_size=70), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.just(b"bytes"),
)
MOMENTS = st.datetimes(timezones=st.sampled_from([None, timezone.utc, timezone(timedelta(hours=-3))]))


def _plain(field: fields.Field, depth: int = 0) -> st.SearchStrategy:
    kind = type(field)
    if kind is fields.Nested and depth < 3:
        return payloads(field.schema, depth + 1)
    if kind is fields.List and depth < 3:
        return st.lists(values(field.inner, depth + 1), max_size=3)
    if kind is fields.Dict and depth < 3:
        inner = values(field.value_field, depth + 1) if field.value_field is not None else st.integers()
        return st.dictionaries(st.text(max_size=5), inner, max_size=3)
    return {fields.Integer: st.integers(), fields.Boolean: st.booleans(),
            fields.DateTime: MOMENTS.map(datetime.isoformat)}.get(kind, st.text(min_size=1, max_size=70))


def values(field: fields.Field, depth: int = 0) -> st.SearchStrategy:
    plain = _plain(field, depth)
    return st.one_of(plain, plain, plain, plain, plain, plain, ODD)  # mostly plain: a payload often passes


def payloads(schema, depth: int = 0) -> st.SearchStrategy:
    """Payloads of a schema: its required fields nearly always there, the others at random, a few odd values."""
    keyed = {field.data_key or name: (field, values(field, depth)) for name, field in schema.load_fields.items()}
    return st.fixed_dictionaries({key: value for key, (field, value) in keyed.items() if field.required},
                                 optional={key: value for key, (field, value) in keyed.items() if not field.required}
                                 | {"not_in_the_contract": st.just(None)})


CONTRACTS = sorted(catalogue()._instances.items())


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_payload_the_quick_check_passes_loads_with_its_schema(data):
    key, schema = data.draw(st.sampled_from(CONTRACTS))
    check = compile_schema(schema)
    payload = data.draw(payloads(schema))
    if check is not None and check(payload):
        try:
            schema.load(payload)
        except ValidationError as exc:
            raise AssertionError(f"{key}: quick yes, marshmallow no: {exc.messages} for {payload!r}") from None


def test_the_quick_check_covers_the_contracts_and_says_yes_to_real_payloads():
    compiled = {key for key, schema in CONTRACTS if compile_schema(schema) is not None}
    assert len(compiled) >= len(CONTRACTS) - 4, sorted(set(dict(CONTRACTS)) - compiled)
    now = datetime.now(timezone.utc).isoformat()
    contact = {"id": str(uuid.uuid4()), "version": 1, "created_at": now, "updated_at": now, "first_name": "Ana",
               "last_name": "García", "email": "ana@example.es", "interests": ["vino"], "account_id": None,
               "owner_id": str(uuid.uuid4()), "lifecycle_stage": "prospect", "name": "Ana García"}
    check = compile_schema(dict(CONTRACTS)["accounts.contact.created"])
    assert check(contact)
    assert not check({**contact, "id": ""})  # Length(min=1): marshmallow decides, and says no
    assert catalogue().problems("accounts.contact.created", {**contact, "id": ""})
    assert catalogue().problems("accounts.contact.created", {**contact, "version": "uno"})
    assert catalogue().problems("accounts.contact.created", contact) is None


# -- the quick decode ---------------------------------------------------------------------

def _body(**changes) -> dict:
    event = events.new_event(source="accounts", type="accounts.contact.created", subject=str(uuid.uuid4()),
                             data={"id": "c-1", "name": "Ana"}, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    event = json.loads(events.encode(event))
    for key, value in changes.items():
        if value is _DROP:
            event.pop(key, None)
        else:
            event[key] = value
    return event


_DROP = object()
ATTRIBUTE_VALUES = st.one_of(
    st.just(_DROP), st.none(), st.integers(), st.booleans(), st.just(""), st.text(max_size=8),
    st.just("0.3"), st.just("1.0"), st.just({"a": 1}), st.just([1]), st.just("2026-11-27T10:00:00"),
    st.just("2026-11-27T10:00:00.5+02:00"), st.just("2026-11-27T24:00:00Z"), st.just("2026-11-27 10:00:00Z"),
    st.just("2026-11-27T10:00:00.1234567Z"), st.just("2026-02-30T10:00:00Z"), st.just("not json"),
)
NAMES = st.sampled_from(["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema",
                         "data", "data_base64", "correlationid", "Upper", "with_underscore", "x1", ""])


def _sdk(body: bytes):
    try:
        return events._decode_with_sdk(body)
    except events.InvalidEvent:
        return "invalid"


def _ours(body: bytes):
    try:
        return events.decode(body)
    except events.InvalidEvent:
        return "invalid"


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(NAMES, ATTRIBUTE_VALUES, max_size=4))
def test_the_quick_decode_reads_an_event_exactly_as_the_sdk_does(changes):
    event = _body(**changes)
    body = json.dumps(event).encode()
    ours, sdk = _ours(body), _sdk(body)
    # where the body has no id or time, the SDK makes one up each time it reads it
    invented = {"id", "time"} - set(event)
    if isinstance(ours, dict) and isinstance(sdk, dict):
        ours, sdk = ({k: v for k, v in e.items() if k not in invented} for e in (ours, sdk))
    assert ours == sdk


def test_the_quick_decode_takes_cadenas_own_events_and_leaves_the_rest_to_the_sdk():
    own = json.dumps(_body()).encode()
    assert events._plain(own) is not None and events._plain(own) == _sdk(own)
    for odd in (b"\xff\xfe{", b"[]", b"{", json.dumps(_body(data="{\"a\": 1}")).encode(),
                json.dumps(_body(x1=5)).encode(), json.dumps(_body(time="2026-11-27T10:00:00")).encode()):
        assert events._plain(odd) is None
        assert _ours(odd) == _sdk(odd)
    assert events._plain(json.dumps(_body(time=_DROP)).encode()) is None  # the SDK gives it the time it is read


# -- the quick encode ---------------------------------------------------------------------

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=8)
MOMENTS = st.datetimes(timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=2)),
                                                  timezone(timedelta(hours=-5, minutes=-30))]))


def _sdk_encoding(event: dict):
    try:
        return events._encode_with_sdk(event)
    except Exception as exc:  # the SDK raises several unrelated types
        return type(exc) if isinstance(exc, (TypeError, ValueError)) else "invalid"


def _our_encoding(event: dict):
    try:
        return events.encode(event)
    except Exception as exc:
        return type(exc) if isinstance(exc, (TypeError, ValueError)) else "invalid"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES | MOMENTS, max_size=4), MOMENTS,
       st.sampled_from(["microseconds", "auto", "seconds"]), st.one_of(st.none(), st.text(max_size=5)),
       st.dictionaries(NAMES, ATTRIBUTE_VALUES, max_size=2))
def test_the_quick_encode_writes_an_event_byte_for_byte_as_the_sdk_does(data, moment, timespec, subject, changes):
    event = events.new_event(source="accounts", type="accounts.contact.created", subject=subject, data=data)
    event["time"] = moment.isoformat(timespec=timespec)
    for key, value in changes.items():
        if value is _DROP:
            event.pop(key, None)
        else:
            event[key] = value
    ours, sdk = _our_encoding(event), _sdk_encoding(event)
    if "id" not in event and isinstance(ours, bytes) and isinstance(sdk, bytes):  # the SDK makes one up
        ours, sdk = ({k: v for k, v in json.loads(b).items() if k != "id"} for b in (ours, sdk))
    assert ours == sdk


def test_the_quick_encode_takes_cadenas_own_events_and_reads_back_the_same():
    event = events.new_event(source="accounts", type="accounts.contact.created", subject="c-1",
                             data={"id": "c-1", "at": datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)},
                             traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    assert events._in_our_form(event)
    body = events.encode(event)
    assert body == events._encode_with_sdk(event)
    assert json.loads(body)["data"]["at"] == "2026-11-27T10:00:00Z"
    assert events.decode(body) == _sdk(body)


def test_fields_whose_options_change_what_loads_are_left_to_marshmallow():
    from marshmallow import Schema, validate

    class YesNo(Schema):
        flag = fields.Boolean(truthy={"yes"}, falsy={"no"})

    class Odd(Schema):
        tags = fields.List(fields.String(), validate=validate.Length(min=1))
        when = fields.DateTime(format="%d/%m/%Y")

    check = compile_schema(YesNo())
    assert check({}) and not check({"flag": True})
    assert YesNo().validate({"flag": True})  # marshmallow refuses it: only "yes" and "no" load
    assert compile_schema(Odd()) is None
    assert compile_schema(YesNo(only=("flag",))) is None
