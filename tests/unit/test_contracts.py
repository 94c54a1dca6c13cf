"""Typed event contracts: checked when written and when read, and the
AsyncAPI document and the catalogue in docs/events.md generated from them."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import jsonschema
import pytest

from shared import config, inbox
from shared.asyncapi import asyncapi, with_catalogue
from shared.bus import topic_matches
from shared.contracts import ContractViolation, catalogue
from shared.events import encode, new_event

ROOT = Path(__file__).resolve().parents[2]


def test_an_event_that_breaks_its_contract_never_reaches_the_outbox(sqlite_build):
    db = sqlite_build("accounts").db
    with db.transaction() as uow:
        with pytest.raises(ContractViolation, match="contact_id"):
            uow.publish("accounts.contact.lifecycle_changed", "c1", {"account_id": "a1", "from": "prospect"})
        with pytest.raises(ContractViolation, match="no contract"):
            uow.publish("accounts.contact.vanished", "c1", {"id": "c1"})


def test_a_consumer_dead_letters_an_event_that_breaks_its_contract(sqlite_build):
    db = sqlite_build("accounts").db
    seen = []
    handlers = {"opportunities.opportunity.won": lambda event, uow: seen.append(event)}
    broken = encode(new_event(source="opportunities", type="opportunities.opportunity.won", subject="o1",
                              data={"opportunity_id": "o1"}))  # no account, amount, line items …
    assert inbox.handle(db, "q", handlers, "opportunities.opportunity.won", broken, catalogue()) == inbox.REJECT
    unknown = encode(new_event(source="x", type="opportunities.opportunity.teleported", subject="o1", data={}))
    outcomes = inbox.handle_batch(db, "q", {"opportunities.#": lambda e, u: seen.append(e)},
                                  [("opportunities.opportunity.teleported", unknown)] * 2, catalogue())
    assert outcomes == [inbox.REJECT, inbox.REJECT] and not seen


def test_asyncapi_document_is_valid_asyncapi_3_and_lists_every_contract(sqlite_build):
    schema = json.loads((ROOT / "tests/support/asyncapi-3.0.0.schema.json").read_text())
    document = sqlite_build("gateway").client.get("/api/v1/asyncapi.json").get_json()
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
    assert not errors, errors[:5]
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(catalogue().owned().by_key)
    won = next(m for m in document["components"]["messages"].values() if m["name"] == "opportunities.opportunity.won")
    envelope = document["components"]["schemas"][won["payload"]["$ref"].rsplit("/", 1)[1]]
    data = document["components"]["schemas"][envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
    assert {"opportunity_id", "account", "amount", "line_items"} <= set(data["required"])


def test_the_catalogue_in_docs_is_the_generated_one():
    document = (ROOT / "docs/events.md").read_text()
    assert document == with_catalogue(document, catalogue()), "run `cadena events catalogue --write`"


def _handlers(component: str) -> dict:
    if component == "gateway":
        return importlib.import_module("gateway.app").HANDLERS
    return importlib.import_module(f"services.{component}.handlers").HANDLERS


@pytest.mark.parametrize("component", config.COMPONENTS)
def test_every_handler_reacts_to_a_declared_event(component):
    known = catalogue().by_key
    for pattern in _handlers(component):
        assert any(topic_matches(pattern, key) for key in known), f"{component} handles {pattern}: no such event"


def test_a_worker_refuses_a_handler_for_no_event_or_two_handlers_for_one():
    known = catalogue()
    with pytest.raises(ValueError, match="no event contract"):
        inbox.check_handlers("x", {"accounts.contact.vanished": print}, known)
    with pytest.raises(ValueError, match="2 handlers"):
        inbox.check_handlers("x", {"accounts.contact.*": print, "accounts.#": print}, known)
    inbox.check_handlers("gateway", {"*.handover.completed": print, "#": print}, known)
    with pytest.raises(ValueError, match="two handlers"):
        inbox.merge_handlers({"a.b.c": print}, {"a.b.c": print})


def test_every_published_routing_key_is_declared():
    # Routing keys written literally where events are published.
    import re

    published = set()
    for path in [*ROOT.glob("services/*/*.py"), *ROOT.glob("gateway/*.py")]:
        published |= set(re.findall(r'publish\(\s*"([a-z_]+\.[a-z_]+\.[a-z_]+)"', path.read_text()))
    assert published and published <= set(catalogue().by_key), published - set(catalogue().by_key)
    asyncapi(catalogue())  # and every contract renders
