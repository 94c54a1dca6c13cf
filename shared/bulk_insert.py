"""Many rows of one table at once (a bulk write: an import's records, their
events, their history entries)."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import JSON, Table, insert


def insert_rows(session, table: Table, rows: list[dict], *, skip_conflicts: bool = False) -> int:
    """Insert many rows of one table in the session's transaction; returns
    how many were written (with ``skip_conflicts``, a row that breaks a
    unique index is skipped: ON CONFLICT DO NOTHING). On Postgres the rows
    go in with COPY, several times cheaper than an INSERT per row for both
    sides; with ``skip_conflicts`` the COPY runs in a savepoint, and only if
    a unique index refuses a row do they go again with psycopg's executemany
    of INSERT … ON CONFLICT DO NOTHING (one short prepared statement sent in
    a pipeline: SQLAlchemy's multi-row VALUES would make psycopg parse a
    statement of thousands of parameters per batch)."""
    if not rows:
        return 0
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        stmt = insert(table)
        if skip_conflicts:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing()
        return connection.execute(stmt, rows).rowcount
    from psycopg.types.json import Json

    names = tuple(rows[0])
    as_json = _json_columns(table, names)
    values = [tuple(Json(row[n]) if j and row[n] is not None else row[n] for n, j in zip(names, as_json))
              for row in rows]
    quoted = ", ".join(f'"{n}"' for n in names)
    driver = connection.connection.driver_connection
    if skip_conflicts:
        from psycopg.errors import UniqueViolation

        try:
            with driver.transaction():  # a savepoint: a refused COPY leaves the rest of the transaction as it was
                return _copy(driver, table, quoted, values)
        except UniqueViolation:  # a record written meanwhile holds a unique value: row by row, skipping it
            with driver.cursor() as cursor:
                cursor.executemany(f'INSERT INTO {table.name} ({quoted}) VALUES ({", ".join(["%s"] * len(names))}) '
                                   "ON CONFLICT DO NOTHING", values)
                return cursor.rowcount
    return _copy(driver, table, quoted, values)


def _copy(driver, table: Table, quoted: str, values: list[tuple]) -> int:
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)
    return len(values)


@lru_cache(maxsize=128)
def _json_columns(table: Table, names: tuple[str, ...]) -> tuple[bool, ...]:
    return tuple(isinstance(table.c[name].type, JSON) for name in names)
