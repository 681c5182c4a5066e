"""Read an ML Metadata (MLMD) SQLite file, as cmflib writes it, without ML Metadata.

The schema is ML Metadata's public one: ``Type`` (kind 0 execution, 1 artifact,
2 context), ``Artifact``, ``Execution`` and ``Context`` with their
``…Property`` tables (``is_custom_property`` tells cmflib's fixed properties
from the user's), ``Event`` with its ``EventPath`` steps, ``Association``
(execution → context), ``ParentContext`` (stage → pipeline) and ``MLMDEnv``
holding the schema version. :func:`read_mlmd` returns the whole file as plain
values; :mod:`cmf_core.cmflib.importer` decides what they mean.

The file is never written. It is opened through a ``file:…?mode=ro`` URI with
``PRAGMA query_only``, its journal mode is left alone, and nothing is created
beside it. ``immutable=1`` is not used: it would skip SQLite's locking and its
check for a hot journal, so a file that cmflib is writing at that moment, or
one left with an unfinished transaction, would be read half-written; a
read-only open needs no write access to the file or its folder, so it works on
read-only media as it is. The file is checked first (SQLite's header, then
``PRAGMA quick_check``) and read whole before anything is imported, so a
truncated or corrupt file fails before a single record is stored.
"""

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from cmf_core.errors import InvalidInputError, Kind, NotFoundError

SQLITE_HEADER = b"SQLite format 3\x00"
# The MLMD schema versions whose tables and columns this reader knows: ML Metadata 1.x
# writes 10 (cmflib 0.1 uses ml-metadata 1.15); 6 to 9 have the same tables it reads.
OLDEST_SCHEMA, NEWEST_SCHEMA = 6, 10
TYPE_KINDS = {0: "execution", 1: "artifact", 2: "context"}

Value = int | float | str | bool | None


@dataclass(frozen=True, slots=True)
class Node:
    """An MLMD artifact, execution or context: its type's name, and its two property sets."""

    id: int
    type: str
    name: str | None
    created_ms: int
    updated_ms: int
    properties: dict[str, Value] = field(default_factory=dict)
    custom: dict[str, Value] = field(default_factory=dict)
    uri: str | None = None  # artifacts
    state: int | None = None  # executions: last_known_state


@dataclass(frozen=True, slots=True)
class MlmdEvent:
    id: int
    artifact_id: int
    execution_id: int
    type: int  # MLMD's Event.Type: 3 INPUT, 4 OUTPUT, …
    ms: int | None
    path: str | None  # the first key step of its path, if any


@dataclass(frozen=True)
class MlmdFile:
    """Everything in one mlmd file that an import reads."""

    path: Path
    schema_version: int
    contexts: dict[int, Node]
    parents: dict[int, list[int]]  # context id -> its parent contexts' ids
    executions: dict[int, Node]
    artifacts: dict[int, Node]
    events: list[MlmdEvent]
    associations: dict[int, list[int]]  # execution id -> its contexts' ids


_NEEDED = {
    "Type": ("id", "name", "type_kind"),
    "Artifact": ("id", "type_id", "uri", "name", "create_time_since_epoch"),
    "Execution": ("id", "type_id", "last_known_state", "name", "create_time_since_epoch"),
    "Context": ("id", "type_id", "name", "create_time_since_epoch"),
    "Event": ("id", "artifact_id", "execution_id", "type", "milliseconds_since_epoch"),
    "EventPath": ("event_id", "is_index_step", "step_key"),
    "Association": ("context_id", "execution_id"),
    "ParentContext": ("context_id", "parent_context_id"),
    "ArtifactProperty": ("artifact_id", "name", "is_custom_property", "string_value"),
    "ExecutionProperty": ("execution_id", "name", "is_custom_property", "string_value"),
    "ContextProperty": ("context_id", "name", "is_custom_property", "string_value"),
}


def read_mlmd(path: str | Path) -> MlmdFile:
    """Read the mlmd file at ``path`` whole; raises NotFoundError or InvalidInputError."""
    given = Path(path)
    _check_header(given)
    try:
        conn = sqlite3.connect(f"file:{quote(str(given.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise _unreadable(given, exc) from exc
    try:
        conn.execute("PRAGMA query_only = ON")
        return _read(conn, given)
    except sqlite3.Error as exc:
        raise _unreadable(given, exc) from exc
    finally:
        conn.close()


MLMD_FILE = "mlmd"  # cmflib's default file name, at the project root


def find_mlmd_file(project_root: Path) -> Path | None:
    """cmflib's ``mlmd`` file at ``project_root`` when it is an ML Metadata file, else None.

    Read commands name it when they find nothing, so a cmflib user learns of
    ``cmf import-mlmd``. Only the SQLite header and table names are read.
    """
    path = project_root / MLMD_FILE
    try:
        with path.open("rb") as file:
            if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return None
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    except (OSError, sqlite3.Error):
        return None
    try:
        conn.execute("PRAGMA query_only = ON")
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name IN ('MLMDEnv', 'Artifact') LIMIT 1"
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return path if found is not None else None


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        raise NotFoundError(
            "No mlmd file at {path}; name cmflib's file, e.g. mlmd.",
            kind=Kind.PATH,
            path=str(path),
        ) from None
    except IsADirectoryError:
        raise InvalidInputError(
            "{path} is a folder, not an mlmd file; name the file in it, e.g. {path}/mlmd.",
            kind=Kind.PATH,
            path=str(path),
        ) from None
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot read {{path}}: {exc.strerror}.", kind=Kind.PATH, path=str(path)
        ) from exc
    if header != SQLITE_HEADER:
        raise InvalidInputError(
            "{path} is not an SQLite file, so not cmflib's mlmd file; nothing was imported.",
            kind=Kind.PATH,
            path=str(path),
        )


def _unreadable(path: Path, exc: sqlite3.Error) -> InvalidInputError:
    return InvalidInputError(
        f"{{path}} cannot be read as an SQLite database ({exc}); it may be truncated or "
        "corrupt. Nothing was imported.",
        kind=Kind.PATH,
        path=str(path),
    )


def _read(conn: sqlite3.Connection, path: Path) -> MlmdFile:
    check = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if check != ["ok"]:
        raise InvalidInputError(
            f"{{path}} is a damaged SQLite file (SQLite's check says: {check[0]}); it may be "
            "truncated or corrupt. Nothing was imported.",
            kind=Kind.PATH,
            path=str(path),
        )
    columns = _columns(conn)
    version = _schema_version(conn, columns, path)
    for table, needed in _NEEDED.items():
        missing = [name for name in needed if name not in columns.get(table, ())]
        if missing:
            raise InvalidInputError(
                f"{{path}} says ML Metadata schema {version} but its table {table} lacks "
                f"{', '.join(missing)}; it is not a file cmf can read.",
                kind=Kind.PATH,
                path=str(path),
            )
    types = {row[0]: row[1] for row in conn.execute("SELECT id, name FROM Type")}
    has_bool = {table: "bool_value" in columns[table] for table in _PROPERTY_TABLES}
    executions = {
        row[0]: Node(row[0], types.get(row[1], "?"), row[3], row[4] or 0, row[5] or 0, state=row[2])
        for row in conn.execute(
            "SELECT id, type_id, last_known_state, name, create_time_since_epoch, "
            f"{_updated(columns, 'Execution')} FROM Execution"
        )
    }
    artifacts = {
        row[0]: Node(row[0], types.get(row[1], "?"), row[3], row[4] or 0, row[5] or 0, uri=row[2])
        for row in conn.execute(
            "SELECT id, type_id, uri, name, create_time_since_epoch, "
            f"{_updated(columns, 'Artifact')} FROM Artifact"
        )
    }
    contexts = {
        row[0]: Node(row[0], types.get(row[1], "?"), row[2], row[3] or 0, row[4] or 0)
        for row in conn.execute(
            "SELECT id, type_id, name, create_time_since_epoch, "
            f"{_updated(columns, 'Context')} FROM Context"
        )
    }
    for table, nodes in (
        ("ExecutionProperty", executions),
        ("ArtifactProperty", artifacts),
        ("ContextProperty", contexts),
    ):
        _read_properties(conn, table, nodes, has_bool=has_bool[table])
    return MlmdFile(
        path=path,
        schema_version=version,
        contexts=contexts,
        parents=_pairs(conn, "SELECT context_id, parent_context_id FROM ParentContext"),
        executions=executions,
        artifacts=artifacts,
        events=_events(conn),
        associations=_pairs(conn, "SELECT execution_id, context_id FROM Association"),
    )


_PROPERTY_TABLES = ("ExecutionProperty", "ArtifactProperty", "ContextProperty")


def _columns(conn: sqlite3.Connection) -> dict[str, set[str]]:
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {
        table: {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')} for table in tables
    }


def _schema_version(conn: sqlite3.Connection, columns: dict[str, set[str]], path: Path) -> int:
    if "MLMDEnv" not in columns:
        what = "a cmf store" if "alembic_version" in columns else "an SQLite file of another kind"
        raise InvalidInputError(
            f"{{path}} is {what}, not an ML Metadata (cmflib mlmd) file: it has no MLMDEnv table.",
            kind=Kind.PATH,
            path=str(path),
        )
    rows = conn.execute("SELECT schema_version FROM MLMDEnv").fetchall()
    version = rows[0][0] if len(rows) == 1 else None
    known = f"cmf reads ML Metadata schema versions {OLDEST_SCHEMA} to {NEWEST_SCHEMA}"
    if not isinstance(version, int):
        raise InvalidInputError(
            f"{{path}} has no readable ML Metadata schema version ({rows!r} in MLMDEnv); {known}.",
            kind=Kind.PATH,
            path=str(path),
        )
    if version > NEWEST_SCHEMA:
        raise InvalidInputError(
            f"{{path}} has ML Metadata schema version {version}, newer than {known}: it was "
            "written by a newer ML Metadata. Nothing was imported.",
            kind=Kind.PATH,
            path=str(path),
        )
    if version < OLDEST_SCHEMA:
        raise InvalidInputError(
            f"{{path}} has ML Metadata schema version {version}, older than {known}; open it "
            "once with a current cmflib to upgrade it.",
            kind=Kind.PATH,
            path=str(path),
        )
    return version


def _updated(columns: dict[str, set[str]], table: str) -> str:
    present = "last_update_time_since_epoch" in columns[table]
    return "last_update_time_since_epoch" if present else "create_time_since_epoch"


def _read_properties(
    conn: sqlite3.Connection, table: str, nodes: dict[int, Node], *, has_bool: bool
) -> None:
    owner = {"ExecutionProperty": "execution_id", "ArtifactProperty": "artifact_id"}.get(
        table, "context_id"
    )
    # A property holds one of its value columns; coalesce keeps that value's SQLite type.
    bool_value = "bool_value" if has_bool else "NULL"
    query = (
        f"SELECT {owner}, name, is_custom_property, "
        f"coalesce(int_value, double_value, string_value), {bool_value} FROM {table}"
    )
    for owner_id, name, is_custom, value, flag in conn.execute(query):
        node = nodes.get(owner_id)
        if node is None:
            continue  # a property of a deleted node
        if value is None and flag is not None:
            value = bool(flag)
        (node.custom if is_custom else node.properties)[name] = value


def _events(conn: sqlite3.Connection) -> list[MlmdEvent]:
    paths: dict[int, str] = {}
    for event_id, key in conn.execute(
        "SELECT event_id, step_key FROM EventPath WHERE is_index_step = 0 AND step_key IS NOT NULL "
        "ORDER BY rowid"
    ):
        paths.setdefault(event_id, key)
    return [
        MlmdEvent(row[0], row[1], row[2], row[3], row[4], paths.get(row[0]))
        for row in conn.execute(
            "SELECT id, artifact_id, execution_id, type, milliseconds_since_epoch FROM Event "
            "ORDER BY id"
        )
    ]


def _pairs(conn: sqlite3.Connection, query: str) -> dict[int, list[int]]:
    pairs: dict[int, list[int]] = {}
    for key, value in conn.execute(query):
        pairs.setdefault(key, []).append(value)
    return pairs


__all__ = ["MlmdEvent", "MlmdFile", "Node", "read_mlmd"]
