"""The event catalogue as documents: an AsyncAPI 3.0 description of the
exchange (served at /api/v1/asyncapi.json) and the catalogue table of
docs/events.md, both generated from the contracts (shared/contracts.py)."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.contracts import Catalogue, Contract
from shared.events import CONTENT_TYPE, EXCHANGE

MARKER_START = "<!-- catalogue: generated from the contracts by `cadena events catalogue --write`; do not edit -->"
MARKER_END = "<!-- end of catalogue -->"


def _name(contract: Contract) -> str:
    return "".join(part.title() for part in contract.routing_key.replace("_", ".").split("."))


def _payload_schemas(catalogue: Catalogue) -> tuple[dict, dict]:
    """JSON Schemas of every payload, by the contract's message name."""
    spec = APISpec("events", "1", "3.1.0", plugins=[MarshmallowPlugin(schema_name_resolver=lambda s: None)])
    names = {}
    for contract in catalogue.by_key.values():
        schema_name = contract.schema.__module__.rsplit(".", 2)[-2].title() + contract.schema.__name__
        if schema_name not in names.values():
            spec.components.schema(schema_name, schema=contract.schema)
        names[contract.routing_key] = schema_name
    return names, spec.to_dict()["components"]["schemas"]


def _envelope(contract: Contract, data_ref: str) -> dict:
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "description": "unique per event; deduplicate on it"},
            "source": {"type": "string", "const": f"/cadena/{contract.owner if contract.owner != 'identity' else 'gateway'}"},
            "type": {"const": contract.routing_key},
            "subject": {"type": "string", "description": "the aggregate's id"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "correlationid": {"type": "string", "description": "the X-Request-ID of the request that caused it"},
            "dataversion": {"type": "string", "const": "1"},
            "traceparent": {"type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                            "description": "the CloudEvents distributed-tracing extension: the W3C trace context "
                                           "of the change that caused the event (absent when none was traced)"},
            "data": {"$ref": data_ref},
        },
    }


def asyncapi(catalogue: Catalogue) -> dict:
    catalogue = catalogue.owned()
    names, schemas = _payload_schemas(catalogue)
    channels, operations, messages = {}, {}, {}
    for key, contract in sorted(catalogue.by_key.items()):
        name = _name(contract)
        schemas[f"{name}Event"] = _envelope(contract, f"#/components/schemas/{names[key]}")
        messages[name] = {"name": key, "title": key, "summary": contract.summary, "contentType": CONTENT_TYPE,
                          "payload": {"$ref": f"#/components/schemas/{name}Event"}}
        channels[name] = {"address": key, "messages": {name: {"$ref": f"#/components/messages/{name}"}},
                          "bindings": {"amqp": {"is": "routingKey", "bindingVersion": "0.3.0",
                                                "exchange": {"name": EXCHANGE, "type": "topic", "durable": True,
                                                             "autoDelete": False, "vhost": "/"}}}}
        operations[f"publish{name}"] = {"action": "send", "summary": contract.summary,
                                        "channel": {"$ref": f"#/channels/{name}"},
                                        "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
                                        "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": "0.3.0"}}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Cadena events", "version": "1.0.0",
                 "description": f"Every change in Cadena, as a CloudEvent 1.0 (structured JSON) on the durable topic "
                                f"exchange `{EXCHANGE}`; the routing key is the event type. At least once, in order "
                                "per aggregate, published only after the change commits."},
        "defaultContentType": CONTENT_TYPE,
        "servers": {"rabbitmq": {"host": "localhost:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
                                 "description": "CADENA_AMQP_URL"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _fields(contract: Contract) -> str:
    schema = contract.schema()
    shown = []
    for name, field in schema.fields.items():
        label = field.data_key or name
        shown.append(label if field.required else f"{label}?")
    return ", ".join(shown)


def catalogue_markdown(catalogue: Catalogue) -> str:
    rows = ["| routing key | what happened | data (`?` = may be absent or null; more fields may come) |",
            "|---|---|---|"]
    for key, contract in sorted(catalogue.owned().by_key.items()):
        rows.append(f"| `{key}` | {contract.summary} | `{{{_fields(contract)}}}` |")
    return "\n".join([MARKER_START, *rows, MARKER_END])


def with_catalogue(document: str, catalogue: Catalogue) -> str:
    """docs/events.md with its generated catalogue replaced."""
    start, end = document.index(MARKER_START), document.index(MARKER_END) + len(MARKER_END)
    return document[:start] + catalogue_markdown(catalogue) + document[end:]
