"""CSV export (CONTRACTS §9): every row a list's filters match, streamed.

The rows come from a server-side cursor (``yield_per``: psycopg reads them
in batches, SQLite steps its cursor), are flattened into cells and written
out a batch at a time, so memory stays flat however many rows match.

Cells: a money field becomes two columns, ``<field>`` (a decimal string)
and ``<field>_currency``; an address becomes ``<field>_street``,
``<field>_city``…; a list is joined with ``;``; times are RFC 3339 (UTC),
dates ISO 8601; empty is null. A cell a spreadsheet would run as a formula
(starting with ``=``, ``@``, a tab, or ``+``/``-`` and not a number) gets a
leading ``'``, which import takes off again (:func:`unescape_cell`).
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Sequence

from flask import Response

ADDRESS_PARTS = ("street", "city", "postal_code", "country")
LIST_SEPARATOR = ";"
BATCH = 1000
FORMULA_START = ("=", "@", "\t", "\r")


class Columns:
    """The CSV columns of one kind of record, from its fields: which are
    money, which addresses and which lists decides how they spread."""

    def __init__(self, fields: Sequence[str], *, money: Iterable[str] = (), address: Iterable[str] = ()):
        self.fields = tuple(fields)
        self.money = frozenset(money)
        self.address = frozenset(address)
        self.header: list[str] = []
        for name in self.fields:
            if name in self.money:
                self.header += [name, f"{name}_currency"]
            elif name in self.address:
                self.header += [f"{name}_{part}" for part in ADDRESS_PARTS]
            else:
                self.header.append(name)

    def cells(self, record: dict) -> list[str]:
        row: list[str] = []
        for name in self.fields:
            value = record.get(name)
            if name in self.money:
                row += [cell(value["amount"]), cell(value["currency"])] if value else ["", ""]
            elif name in self.address:
                row += [cell((value or {}).get(part)) for part in ADDRESS_PARTS]
            else:
                row.append(cell(value))
        return row


def escape_formula(text: str) -> str:
    if text and (text[0] in FORMULA_START or (text[0] in "+-" and len(text) > 1 and not text[1].isdigit()
                                               and text[1] not in " ()")):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """Undo :func:`escape_formula` (a cell export protected from spreadsheets)."""
    if text.startswith("'") and escape_formula(text[1:]) == text:
        return text[1:]
    return text


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int)) for v in value):
        return escape_formula(LIST_SEPARATOR.join(str(v) for v in value))
    if isinstance(value, (list, tuple, dict)):  # structured values (e.g. agreements) as JSON
        return json.dumps(value, separators=(",", ":"), default=str)
    return escape_formula(str(value))


def rows_of(db, stmt, batch: int = BATCH) -> Iterator[list]:
    """The ORM objects ``stmt`` selects, ``batch`` at a time, from a
    server-side cursor in a session of its own (read only, closed at the end)."""
    with db.sessions() as session:  # its identity map holds clean objects weakly: streamed rows are let go
        yield from session.scalars(stmt.execution_options(yield_per=batch)).partitions()


def csv_lines(db, stmt, to_dict: Callable[[Any], dict], columns: Columns, batch: int = BATCH) -> Iterator[bytes]:
    """The CSV (UTF-8, header first), a batch of rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns.header)
    yield buffer.getvalue().encode()
    for chunk in rows_of(db, stmt, batch):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(columns.cells(to_dict(obj)) for obj in chunk)
        yield buffer.getvalue().encode()


def csv_response(db, stmt, to_dict: Callable[[Any], dict], columns: Columns, filename: str) -> Response:
    """A streamed ``text/csv; charset=utf-8`` download (no Content-Length: chunked)."""
    response = Response(csv_lines(db, stmt, to_dict, columns), status=200,
                        content_type="text/csv; charset=utf-8", direct_passthrough=True)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


EXPORT_DOC = {
    "responses": {
        "200": {"description": "Every matching row as CSV (UTF-8, a header row of field names; money as a "
                               "decimal `<field>` and a `<field>_currency` column; times RFC 3339), streamed.",
                "content": {"text/csv": {"schema": {"type": "string"}}}},
    },
}
