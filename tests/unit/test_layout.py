"""The shape of the code, held: one commit boundary, and no module or
function too big to read at once."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("shared", "services", "gateway", "console")

# The only places that end a transaction: the use-case boundary
# (Database.transaction), the consumer's window (the inbox), a keyed request
# (idempotency) and the migration runner.
COMMITTERS = {"shared/db.py", "shared/inbox.py", "shared/idempotency.py", "shared/migrations.py"}


def _modules():
    for folder in PRODUCT:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations/versions" not in str(path):
                yield path


def test_only_the_boundaries_commit():
    committing = sorted(str(p.relative_to(ROOT)) for p in _modules()
                        if str(p.relative_to(ROOT)) not in COMMITTERS
                        and re.search(r"(?<!savepoint)\.commit\(\)", p.read_text()))  # a savepoint's release ends nothing
    assert committing == [], "use cases, handlers and jobs run in Database.transaction(); they never commit"


def test_no_module_over_400_lines():
    big = {str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > 400}
    assert big == {}


def test_no_function_over_50_lines():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 50:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = length
    assert long == {}
