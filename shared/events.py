"""CloudEvents 1.0 envelopes, structured JSON mode (CONTRACTS §5)."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

CONTENT_TYPE = "application/cloudevents+json"
EXCHANGE = "cadena.events"
DLX = "cadena.dead-letter"
DATA_VERSION = "1"

_format = JSONFormat()


class InvalidEvent(ValueError):
    """A message that is not a CloudEvent Cadena can read: a permanent failure."""


def new_event(
    *,
    source: str,
    type: str,
    subject: str | None,
    data: dict,
    correlation_id: str | None = None,
    event_id: str | None = None,
    data_version: str = DATA_VERSION,
    traceparent: str | None = None,
) -> dict[str, Any]:
    event = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": f"/cadena/{source}",
        "type": type,
        "time": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "datacontenttype": "application/json",
        "correlationid": correlation_id or str(uuid.uuid4()),
        "dataversion": data_version,
        "data": data,
    }
    if subject is not None:
        event["subject"] = str(subject)
    if traceparent:  # the CloudEvents distributed-tracing extension: the trace that caused it
        event["traceparent"] = traceparent
    return event


def encode(event: dict[str, Any]) -> bytes:
    """The event's JSON body. An event in the form Cadena writes (see
    :func:`_in_our_form`) is written with the json module alone, byte for
    byte as the SDK writes it (a test holds the two equal); anything else
    goes through the SDK, which checks it against the spec."""
    if _in_our_form(event) and _JSON_DATA.match(event.get("datacontenttype", "application/json")):
        body = {k: v for k, v in event.items() if k != "data"}
        body["time"] = _sdk_time(datetime.fromisoformat(event["time"]))
        body["data"] = event["data"]
        return json.dumps(body, default=_sdk_default).encode("utf-8")
    return _encode_with_sdk(event)


def _encode_with_sdk(event: dict[str, Any]) -> bytes:
    attributes = {k: v for k, v in event.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    return _format.write(CloudEvent(attributes, event["data"]))


def _sdk_time(moment: datetime) -> str:
    """A time as the SDK writes it: RFC 3339, with ``Z`` for UTC."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _sdk_default(value: Any) -> Any:
    """What the SDK's JSON encoder writes for a value json does not know: a
    time as :func:`_sdk_time`; anything else is refused, as there."""
    if isinstance(value, datetime):
        return _sdk_time(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def decode(body: bytes) -> dict[str, Any]:
    """Parse and validate a structured CloudEvent; raise InvalidEvent if it is not one."""
    event = _plain(body)
    return event if event is not None else _decode_with_sdk(body)


_REQUIRED = ("id", "source", "type")
_OPTIONAL = frozenset({"datacontenttype", "dataschema", "subject", "time"})
_EXTENSION = re.compile(r"[a-z0-9]+")
_JSON_DATA = JSONFormat.JSON_CONTENT_TYPE_PATTERN  # data the SDK writes as JSON, not as a string
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")


def _plain(body: bytes) -> dict[str, Any] | None:
    """The event of a body in the form Cadena writes, read with the json
    module alone, exactly as the SDK reads it (a test holds the two equal).
    None for anything else, which the SDK then reads or refuses."""
    try:
        event = json.loads(body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body)
    except ValueError:
        return None
    if not _in_our_form(event):
        return None
    try:
        event["time"] = datetime.fromisoformat(event["time"]).isoformat()
    except ValueError:
        return None
    return event


def _in_our_form(event: Any) -> bool:
    """The required attributes as non-empty strings, an RFC 3339 ``time``,
    every other attribute a string named as the spec says (optional ones
    not empty), ``data`` a JSON object."""
    if type(event) is not dict or event.get("specversion") != "1.0" or type(event.get("data")) is not dict:
        return False
    for name in _REQUIRED:
        value = event.get(name)
        if type(value) is not str or not value:
            return False
    for name, value in event.items():
        if name != "data" and (type(value) is not str or not _EXTENSION.fullmatch(name)
                               or (name in _OPTIONAL and not value)):
            return False
    moment = event.get("time")
    return moment is not None and _RFC3339.fullmatch(moment) is not None


def _decode_with_sdk(body: bytes) -> dict[str, Any]:
    try:
        parsed = _format.read(CloudEvent, body)
    except Exception as exc:  # the SDK raises several unrelated types
        raise InvalidEvent(f"not a CloudEvent: {exc}") from exc
    event = dict(parsed.get_attributes())
    if event.get("specversion") != "1.0":
        raise InvalidEvent("unsupported specversion")
    data = parsed.get_data()
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidEvent("data is not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidEvent("data must be a JSON object")
    event["data"] = data
    if isinstance(event.get("time"), datetime):
        event["time"] = event["time"].isoformat()
    return event
