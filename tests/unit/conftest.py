"""Fixtures many unit tests share (tests/conftest.py builds the components)."""
from __future__ import annotations

import pytest

from tests.support.auth import headers


@pytest.fixture
def accounts(sqlite_build):
    """The accounts service on SQLite (a file may define its own, built otherwise)."""
    return sqlite_build("accounts")


@pytest.fixture
def admin():
    """An admin's Authorization header."""
    return headers("admin")
