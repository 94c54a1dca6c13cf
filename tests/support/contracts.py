"""Contracts for the made-up events some tests send (``<topic>.thing.*``),
so workers accept them as they accept Cadena's own."""
from __future__ import annotations

from shared.contracts import Payload, contracts, declare


def declare_test_events(topic: str, *names: str) -> None:
    declare(*contracts("A test's event.", Payload, *(f"{topic}.thing.{name}" for name in names)))
