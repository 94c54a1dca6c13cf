"""Typed event contracts: one payload schema per routing key, declared by
the service that owns the event (``services/<name>/events.py``,
``gateway/events.py`` for identity), checked when an event is written to
the outbox and when a consumer reads one. docs/events.md and the AsyncAPI
document (``GET /api/v1/asyncapi.json``) are generated from them.

Payloads name the minimum a consumer may rely on; more fields may be sent
(additive changes keep ``dataversion`` "1"), so schemas accept unknown
fields and consumers ignore what they don't know.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from shared.fastcheck import compile_schema

# Every component that owns events, and where it declares them.
OWNERS = {
    "identity": "gateway.events",
    "gateway": "gateway.events",  # the gateway's own events (webhooks)
    "accounts": "services.accounts.events",
    "opportunities": "services.opportunities.events",
    "activities": "services.activities.events",
    "campaigns": "services.campaigns.events",
    "support": "services.support.events",
}


class ContractViolation(ValueError):
    """An event that does not match its routing key's contract (or has none)."""


# -- building blocks for payload schemas ---------------------------------------------

class Payload(Schema):
    class Meta:
        unknown = INCLUDE


def ident(required: bool = True, **kw) -> fields.String:
    return fields.String(required=required, allow_none=not required, validate=validate.Length(min=1, max=64), **kw)


def text(**kw) -> fields.String:
    return fields.String(allow_none=True, **kw)


def time(required: bool = False, **kw) -> fields.DateTime:
    return fields.DateTime(required=required, allow_none=not required, **kw)


class MoneyPayload(Payload):
    amount = fields.String(required=True, validate=validate.Regexp(r"^-?\d+(\.\d+)?$"))
    currency = fields.String(required=True, validate=validate.Length(equal=3))


def money(required: bool = False) -> fields.Nested:
    return fields.Nested(MoneyPayload, required=required, allow_none=not required)


class FieldChange(Payload):
    from_ = fields.Raw(required=True, allow_none=True, data_key="from")
    to = fields.Raw(required=True, allow_none=True)


def field_changes() -> fields.Dict:
    """What a change did to the record: ``{field: {from, to}}``, only the fields
    that really changed (shared/history.py). Every ``.updated`` event carries it."""
    return fields.Dict(keys=fields.String(), values=fields.Nested(FieldChange), allow_none=True, metadata={
        "description": "the fields that changed, {field: {from, to}}, values as the API shows the record"})


class EventData(Payload):
    """What the data of every event may carry beside its own fields."""

    actor_id = ident(required=False, metadata={
        "description": "the user or API client whose request caused the event; absent for jobs and handlers"})


class Record(EventData):
    """A full resource as the API shows it: at least its id and version."""

    id = ident()
    version = fields.Integer(allow_none=True)
    created_at = time()
    updated_at = time()


class HandoverCompleted(EventData):
    handover_id = ident()
    service = fields.String(required=True)
    moved = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


def check_changes(routing_key: str, data: dict) -> None:
    """Cadena's own ``.updated`` events say what changed (CONTRACTS §10). Held
    when an event is written, not when it is read: an event from before the
    rule is still a good one."""
    if routing_key.endswith(".updated") and routing_key.split(".", 1)[0] in OWNERS and "changes" not in data:
        raise ContractViolation(f"{routing_key} must carry `changes` (publish it with shared.history.updated)")


# -- the catalogue ------------------------------------------------------------------------

def _never(data) -> bool:
    return False


@dataclass(frozen=True)
class Contract:
    routing_key: str
    schema: type[Schema]
    summary: str

    @property
    def owner(self) -> str:
        return self.routing_key.split(".", 1)[0]


def contracts(summary: str, schema: type[Schema], *routing_keys: str) -> list[Contract]:
    return [Contract(key, schema, summary) for key in routing_keys]


class Catalogue:
    def __init__(self, declared: list[Contract]):
        self.by_key: dict[str, Contract] = {}
        for contract in declared:
            if contract.routing_key in self.by_key:
                raise ValueError(f"{contract.routing_key} is declared twice")
            self.by_key[contract.routing_key] = contract
        self._instances = {c.routing_key: c.schema() for c in declared}
        # A quick yes for a payload that plainly keeps its contract; marshmallow decides the rest.
        self._quick = {key: compile_schema(schema) or _never for key, schema in self._instances.items()}

    def problems(self, routing_key: str, data) -> str | None:
        """Why ``data`` breaks the contract of ``routing_key``, or None."""
        schema = self._instances.get(routing_key)
        if schema is None:
            return f"no contract declares {routing_key}"
        if not isinstance(data, dict):
            return "data is not an object"
        if self._quick[routing_key](data):
            return None
        try:
            schema.load(data)
        except ValidationError as exc:
            return f"{routing_key} data does not match its contract: {exc.messages}"
        return None

    def check(self, routing_key: str, data) -> None:
        problem = self.problems(routing_key, data)
        if problem:
            raise ContractViolation(problem)

    def check_many(self, routing_key: str, items: list) -> None:
        """:meth:`check` for a batch of one routing key's payloads (one
        schema pass over the list, as a bulk write publishes them)."""
        schema = self._instances.get(routing_key)
        if schema is None:
            raise ContractViolation(f"no contract declares {routing_key}")
        if not all(isinstance(data, dict) for data in items):
            raise ContractViolation("data is not an object")
        quick = self._quick[routing_key]
        if all(quick(data) for data in items):
            return
        try:
            schema.load(items, many=True)
        except ValidationError as exc:
            raise ContractViolation(f"{routing_key} data does not match its contract: {exc.messages}") from None

    def owned(self) -> "Catalogue":
        """Cadena's own events (without what tools and tests declared)."""
        return Catalogue([c for c in self.by_key.values() if c.owner in OWNERS])


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """Every owner's declared contracts (imported once per process)."""
    declared: list[Contract] = []
    for module in dict.fromkeys(OWNERS.values()):  # a module may declare for several owners
        declared.extend(importlib.import_module(module).CONTRACTS)
    return Catalogue(declared + _extra)


_extra: list[Contract] = []


def declare(*extra: Contract) -> None:
    """Contracts of events outside the services (benchmarks, outside tools)."""
    _extra.extend(extra)
    catalogue.cache_clear()
