"""Reading an import's CSV (CONTRACTS §9): the file, its header and mapping,
and each row as the fields of a record.

A file is UTF-8 (a byte-order mark is allowed), its first row the header;
the delimiter is a comma, a semicolon or a tab, whichever the header uses
most (spreadsheets set to Spanish save with semicolons). Row numbers are
the file's records: the header is row 1. Columns are named as an export
names them (:class:`shared.export.Columns`), so an export imports back;
``mapping`` renames a file's columns (``{"E-mail": "email"}``) and maps one
to null to skip it.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Iterator

from shared.export import ADDRESS_PARTS, LIST_SEPARATOR, Columns, unescape_cell
from shared.http import Invalid

CSV_TYPES = ("text/csv", "application/csv")
DELIMITERS = (",", ";", "\t")
csv.field_size_limit(1024 * 1024)


class Spec:
    """What a kind of record takes from a file: its writable fields (named
    and spread as an export spreads them) and the export's read-only columns,
    which are accepted and ignored (``id`` serves ``match=id``)."""

    def __init__(self, columns: Columns, writable: tuple[str, ...], lists: tuple[str, ...] = ()):
        self.columns = columns
        self.writable = writable
        self.lists = frozenset(lists)
        self.known = frozenset(columns.header)
        self.writable_columns = frozenset(Columns(writable, money=columns.money & set(writable),
                                                  address=columns.address & set(writable)).header)

    def record(self, cells: dict[str, str], default_currency: str) -> dict:
        """The fields a row gives (an empty cell gives nothing: on create the
        field keeps its default, on update its value)."""
        data: dict = {}
        for name in self.writable:
            if name in self.columns.money:
                amount = cells.get(name, "")
                if amount:
                    data[name] = {"amount": amount, "currency": cells.get(f"{name}_currency") or default_currency}
            elif name in self.columns.address:
                parts = {p: cells[f"{name}_{p}"] for p in ADDRESS_PARTS if cells.get(f"{name}_{p}")}
                if parts:
                    data[name] = parts
            elif name in self.lists:
                if cells.get(name):
                    data[name] = [v.strip() for v in cells[name].split(LIST_SEPARATOR) if v.strip()]
            elif cells.get(name):
                data[name] = cells[name]
        return data


@dataclass(frozen=True)
class Layout:
    """How a file's columns land on a kind's columns."""

    header: list[str]          # the file's header, as written
    targets: list[str | None]  # per file column: the kind's column, or None (skipped)
    delimiter: str


def parse_mapping(raw: str | None, spec: Spec) -> dict[str, str | None]:
    if raw in (None, ""):
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError:
        raise Invalid("mapping is not JSON.", errors={"mapping": ['Send a JSON object {"csv column": "field"}.']}) \
            from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                                for k, v in mapping.items()):
        raise Invalid("mapping must map column names to field names.",
                      errors={"mapping": ['Send a JSON object {"csv column": "field" | null}.']})
    unknown = sorted(v for v in mapping.values() if v and v not in spec.known)
    if unknown:
        raise Invalid("mapping names fields this kind does not have.",
                      errors={"mapping": [f"Unknown field: {', '.join(unknown)}. Known: {', '.join(sorted(spec.known))}."]})
    return {k: (v or None) for k, v in mapping.items()}


def decode(body: bytes) -> str:
    if not body or not body.strip():
        raise Invalid("The body is empty; send the CSV file.", errors={"body": ["Send a CSV file with a header row."]})
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("The file is not UTF-8 text.", errors={"body": ["Save the CSV as UTF-8."]}) from None
    if "\x00" in text:  # no CRM value holds it, and Postgres text cannot
        raise Invalid("The file contains the NUL character.", errors={"body": ["Remove NUL characters."]})
    return text


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max(DELIMITERS, key=first.count)


def reader(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def layout(text: str, spec: Spec, mapping: dict[str, str | None], match: str | None) -> Layout:
    """The file's header checked against the kind: every column known (or
    mapped), none twice, and the match column present."""
    delimiter = _delimiter(text)
    try:
        header = next(reader(text, delimiter), None)
    except csv.Error as exc:
        raise Invalid("The file is not CSV.", errors={"body": [f"Unreadable CSV: {exc}."]}) from None
    header = [h.strip() for h in header or []]
    if not header or not any(header):
        raise Invalid("The file has no header row.", errors={"body": ["The first row must name the columns."]})
    missing = sorted(set(mapping) - set(header))
    if missing:
        raise Invalid("mapping names columns the file does not have.",
                      errors={"mapping": [f"No such column in the file: {', '.join(missing)}."]})
    targets = [mapping[h] if h in mapping else h for h in header]
    unknown = [h for h, t in zip(header, targets) if t is not None and t not in spec.known]
    if unknown:
        raise Invalid("The file has columns that are not fields of this kind; map them or skip them.",
                      errors={"body": [f"Unknown column: {', '.join(unknown)}. Map it to a field, or to null to "
                                       "skip it, with the mapping parameter."]})
    used = [t for t in targets if t]
    twice = sorted({t for t in used if used.count(t) > 1})
    if twice:
        raise Invalid("Two columns land on the same field.", errors={"body": [f"More than one column for {', '.join(twice)}."]})
    if match and match not in used:
        raise Invalid(f"The file has no {match} column to match on.", errors={"match": [f"No {match} column in the file."]})
    return Layout(header, targets, delimiter)


def count_rows(text: str, delimiter: str) -> int:
    """Data rows (the header is not one); a file whose quoting breaks is refused whole."""
    try:
        return sum(1 for cells in reader(text, delimiter) if cells) - 1
    except csv.Error as exc:
        raise Invalid("The file is not valid CSV.", errors={"body": [f"Unreadable CSV: {exc}."]}) from None


def rows(text: str, lay: Layout, skip: int = 0) -> Iterator[tuple[int, list[str], dict[str, str] | None]]:
    """(row number, cells as written, cells by the kind's column name) per
    data row after the first ``skip``; the last is None when the row has more
    cells than the header."""
    number = 0
    width = len(lay.header)
    data_rows = 0
    for cells in reader(text, lay.delimiter):
        number += 1
        if number == 1 or not cells:
            continue
        data_rows += 1
        if data_rows <= skip:
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            yield number, cells, None
            continue
        named = {t: unescape_cell(c.strip()) for t, c in zip(lay.targets, cells) if t}
        yield number, cells, named
