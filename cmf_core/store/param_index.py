"""The ``execution_params`` index table: one row per top-level number or text param.

Params live in a JSON column, which no index of either backend can search by an
arbitrary key with a range (``params.lr < 0.001``) or order by one
(``--sort -params.lr``). So every execution's number and text params are also rows
of ``execution_params`` (execution, name, number | string), indexed by (name,
number, execution) and (name, string, execution): the search looks a rare match up
there first and sorts by a param along the index.

Triggers keep the table equal to the JSON on every write — an insert, any update
of ``params`` (a running execution's merged params, a sync merge), a delete — so
no writer has to know of it; :func:`install` creates them, for a new store (when
the table is created) and in the migration that added the table (0010), which
also fills it from the existing executions.
"""

import json
from typing import Any

from sqlalchemy import ColumnElement, Numeric, String, cast, literal

_SQLITE_ROWS = """
    SELECT {new}.id, key,
           CASE WHEN type IN ('integer', 'real') THEN value END,
           CASE WHEN type = 'text' THEN value END
    FROM {source} WHERE type IN ('integer', 'real', 'text')"""
_POSTGRES_ROWS = """
    SELECT {new}.id, key,
           CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{{}}')::numeric END,
           CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{{}}' END
    FROM {source} WHERE jsonb_typeof(value) IN ('number', 'string')"""
_INSERT = "INSERT INTO execution_params (execution_id, name, number, string)"
_SQLITE_NEW = _INSERT + _SQLITE_ROWS.format(new="NEW", source="json_each(NEW.params)")
SQLITE = [
    f"CREATE TRIGGER tr_execution_params_insert AFTER INSERT ON executions BEGIN {_SQLITE_NEW}; "
    "END",
    "CREATE TRIGGER tr_execution_params_update AFTER UPDATE OF params ON executions BEGIN "
    f"DELETE FROM execution_params WHERE execution_id = OLD.id; {_SQLITE_NEW}; END",
    "CREATE TRIGGER tr_execution_params_delete AFTER DELETE ON executions BEGIN "
    "DELETE FROM execution_params WHERE execution_id = OLD.id; END",
]
POSTGRES = [
    f"""CREATE FUNCTION cmf_execution_params() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM execution_params WHERE execution_id = OLD.id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            {_INSERT} {_POSTGRES_ROWS.format(new="NEW", source="jsonb_each(NEW.params)")};
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER tr_execution_params AFTER INSERT OR UPDATE OF params OR DELETE "
    "ON executions FOR EACH ROW EXECUTE FUNCTION cmf_execution_params()",
]
FILL = {  # every existing execution's params, once (the migration)
    "sqlite": _INSERT
    + _SQLITE_ROWS.format(new="executions", source="executions, json_each(executions.params)"),
    "postgresql": _INSERT
    + _POSTGRES_ROWS.format(new="executions", source="executions, jsonb_each(executions.params)"),
}


def install(conn: Any, dialect: str) -> None:
    """Create the triggers that keep ``execution_params`` equal to the params."""
    for statement in POSTGRES if dialect == "postgresql" else SQLITE:
        conn.exec_driver_sql(statement)


def fill(conn: Any, dialect: str) -> None:
    """Add the rows of every execution already stored (once, when the table is new)."""
    conn.exec_driver_sql(FILL[dialect])


def param_number(value: Any, is_postgres: bool) -> ColumnElement[Any]:
    """A number as ``execution_params.number`` compares with it, exactly (on PostgreSQL
    numeric from its JSON text, as the JSON path compares it)."""
    if is_postgres:
        return cast(literal(json.dumps(value), String), Numeric)
    return literal(value)
