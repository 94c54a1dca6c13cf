"""CloudEvents 1.0 envelopes, structured JSON mode (CONTRACTS §5)."""
from __future__ import annotations

import json
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
    # Checked against the spec by the SDK before it can reach the outbox.
    attributes = {k: v for k, v in event.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    return _format.write(CloudEvent(attributes, event["data"]))


def decode(body: bytes) -> dict[str, Any]:
    """Parse and validate a structured CloudEvent; raise InvalidEvent if it is not one."""
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
