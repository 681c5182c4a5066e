"""Engines for cmf stores: URL checks, SQLite pragmas, driver error text.

SQLite is tuned for many small writes from several processes: WAL journal,
``synchronous=NORMAL`` (durable at checkpoints, never corrupt), a long busy
timeout, foreign keys on. Write transactions start with ``BEGIN IMMEDIATE`` so
that concurrent writers queue instead of failing with "database is locked" when
a read lock would have to be upgraded, and they queue in the kernel, on a lock
file beside the store (:mod:`cmf_core.store.write_lock`), rather than in
SQLite's sleep-and-retry busy handler.

A store opened for reading only (``Store(url, read_only=True)``, what read
commands use) gets a SQLite connection with ``mode=ro`` and none of the pragmas
above that would change the file: a missing file is not created (nor its
folder), and a foreign file (a cmflib mlmd file) keeps its bytes.

The schema check at open (create, check or upgrade) is :mod:`cmf_core.store.migrate`'s.
"""

import functools
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from cmf_core.errors import ConfigError, Kind, NotFoundError, StoreError
from cmf_core.store.write_lock import WriteLock, begin_write, locked_connection_class

SUPPORTED = ("sqlite", "postgresql")
BUSY_TIMEOUT_S = 60.0


def parse_store_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"Cannot parse store URL {url!r}; use sqlite:///path/to/metadata.db or "
            "postgresql+psycopg://user@host:5432/dbname."
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise ConfigError(
            f"Unsupported store URL scheme {backend!r} in {{store}}; "
            "cmf stores are SQLite (sqlite:///…) or PostgreSQL (postgresql+psycopg://…).",
            kind=Kind.STORE,
            store=safe_url(parsed),
        )
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


SECRET_QUERY_KEYS = ("password", "passfile", "sslpassword", "sslkey", "token", "secret")


def safe_url(url: URL | str) -> str:
    """The URL as it may be shown to a person: passwords hidden, in the user part and the query."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return "(an unparsable store URL)"
    secret = [key for key in parsed.query if any(word in key.lower() for word in SECRET_QUERY_KEYS)]
    if secret:
        parsed = parsed.update_query_dict(dict.fromkeys(secret, "***"))
    return parsed.render_as_string(hide_password=True)


def build_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; ``read_only`` opens a SQLite file that must exist, with
    ``mode=ro`` and no pragma that changes it (no WAL switch), and creates no folder, and
    a PostgreSQL session in which every transaction is read-only."""
    parsed = parse_store_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_reader(parsed) if read_only else _sqlite_engine(parsed)
    # Every PostgreSQL session runs without JIT: cmf's queries are short and indexed, and
    # the planner's estimate of a grouped read with subqueries (a metric table) crosses
    # jit_above_cost, so compiling took longer than the query (38 of 105 ms, measured).
    # A session opened for reading refuses every write itself, so no read path can write
    # (or run DDL) by mistake. Both are added to the URL's own ``options`` (such as a
    # search_path), not put in place of them.
    settings = "-c jit=off" + (" -c default_transaction_read_only=on" if read_only else "")
    given = parsed.query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    parsed = parsed.update_query_dict({"options": f"{given} {settings}".strip()})
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, SQLAlchemyError) as exc:
        raise ConfigError(
            f"Cannot use store URL {{store}}: {exc}", kind=Kind.STORE, store=safe_url(parsed)
        ) from exc


def _sqlite_engine(parsed: URL) -> Engine:
    database = parsed.database or ""
    connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S}
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        if path.is_dir():
            raise ConfigError(
                "The SQLite store {store} is a directory; name a file in it, such as metadata.db.",
                kind=Kind.STORE,
                store=str(path),
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the folder for the SQLite store {{store}}: {exc.strerror}.",
                kind=Kind.STORE,
                store=str(path),
            ) from exc
        # Writers queue on a lock file beside the store (:mod:`cmf_core.store.write_lock`).
        connect_args["factory"] = locked_connection_class(WriteLock(path.resolve()))
    engine = create_engine(
        parsed,
        connect_args=connect_args,
        # Keys stored as written (not \u-escaped), so SQLite's json_extract('$."é"') finds them.
        json_serializer=functools.partial(json.dumps, ensure_ascii=False),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # A foreign file (cmflib's mlmd) is refused by the schema check; switching it to WAL
        # first would rewrite its header.
        foreign = cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE name IN ('MLMDEnv', 'Artifact') LIMIT 1"
        ).fetchone()
        if foreign is None:
            cursor.execute("PRAGMA journal_mode=WAL")
        else:
            dbapi_connection.queues = False  # no lock file beside it either
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get("cmf_write", False):
            conn.exec_driver_sql("BEGIN")
        elif not begin_write(conn.connection.dbapi_connection):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _sqlite_reader(parsed: URL) -> Engine:
    """A read-only engine on an existing SQLite file: nothing is created or changed."""
    import sqlite3
    from urllib.parse import quote

    database = parsed.database or ""
    path = Path(database).expanduser()
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ConfigError(
            "A read needs a SQLite store file, not {store}; name one, e.g. .cmf/metadata.db.",
            kind=Kind.STORE,
            store=database or ":memory:",
        )
    if not path.is_file():
        raise NotFoundError(
            "No cmf store here ({store} does not exist); `cmf init` makes one.",
            kind=Kind.PROJECT,
            store=str(path),
        )
    # mode=ro still makes the -wal and -shm files of a WAL store when they are missing, and
    # leaves them; they are missing only when no connection is open, so then nothing can
    # change the file while it is read and it is opened immutable (no lock, no file made).
    # A writer starting during a long read may make that read fail; it never harms the store.
    wal = path.with_name(path.name + "-wal")
    uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("" if wal.exists() else "&immutable=1")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)

    engine = create_engine(
        parsed,  # shown in messages; the connections are made by ``connect``
        creator=connect,
        json_serializer=functools.partial(json.dumps, ensure_ascii=False),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # per connection: the file is not touched
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def first_line(exc: BaseException) -> str:
    """The first line of a driver error, which is the part a person can use."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
