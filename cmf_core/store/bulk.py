"""Many rows in one statement, below SQLAlchemy: the merge's and the journal's inserts.

On SQLite a prepared ``INSERT … VALUES (?, …)`` run by the driver's ``executemany``
is already one compiled statement stepped once per row, in C. On PostgreSQL the
same ``executemany`` is one statement per row for the server to parse, plan and
execute (a push of 100,000 executions made about a million of them); here the rows
go as one array per column instead, unnested into one ``INSERT … SELECT``, so a
chunk of any size is a single statement.
"""

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Connection, DateTime, Float, Integer, Table

# PostgreSQL's name of each column type cmf's tables use (schema.py); anything else is text.
_PG_TYPES: tuple[tuple[type[Any], str], ...] = (
    (JSON, "jsonb"),
    (Boolean, "bool"),
    (BigInteger, "int8"),
    (Integer, "int4"),
    (Float, "float8"),
    (DateTime, "timestamptz"),
)


def insert_rows(
    conn: Connection,
    table: Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    suffix: str = "",
) -> None:
    """Insert ``rows`` (tuples of the columns ``names``, bound as the driver takes them:
    see :func:`binder`) into ``table``; ``suffix`` follows the statement on both backends
    (``ON CONFLICT …``)."""
    if not rows:
        return
    columns = ", ".join(names)
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{_pg_type(table, name)}[]" for name in names)
        sql = f"INSERT INTO {table.name} ({columns}) SELECT * FROM unnest({arrays}) {suffix}"
        conn.exec_driver_sql(
            sql.rstrip(), tuple(list(column) for column in zip(*rows, strict=True))
        )
        return
    marks = ", ".join("?" for _ in names)
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks}) {suffix}"
    conn.exec_driver_sql(sql.rstrip(), list(rows))


def binder(
    conn: Connection, table: Table, names: Sequence[str]
) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function making a row of Python values of ``table``'s columns ``names`` into the
    values the driver takes, as SQLAlchemy would bind them (JSON, datetimes, booleans)."""
    dialect = conn.dialect
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    steps = [(i, process) for i, process in enumerate(processors) if process is not None]

    def bind(values: Sequence[Any]) -> tuple[Any, ...]:
        row = list(values)
        for i, process in steps:
            if row[i] is not None:
                row[i] = process(row[i])
        return tuple(row)

    return bind


def _pg_type(table: Table, name: str) -> str:
    kind = table.c[name].type
    kind = getattr(kind, "impl", kind)  # a TypeDecorator's own type
    return next((pg for base, pg in _PG_TYPES if isinstance(kind, base)), "text")


__all__ = ["binder", "insert_rows"]
