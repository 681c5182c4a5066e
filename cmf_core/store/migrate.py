"""The store's schema: created, checked and upgraded (with Alembic, the scripts shipped
inside the package).

At open the store's schema revision (Alembic's ``alembic_version`` table) is
compared with this code's :data:`HEAD_REVISION`:

- empty database → the tables are created at the newest schema directly;
- same revision → ready;
- older revision → a SQLite file is upgraded in place (it belongs to one
  project); a PostgreSQL database is left alone and ``cmf db upgrade`` is asked
  for, since a team's server should be upgraded deliberately;
- unknown revision → this cmf is older than the store: upgrade cmf.

Alembic is imported only here, and only to upgrade, so opening an up-to-date
store never pays for it.
"""

import os
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from cmf_core.errors import Kind, NotFoundError, StoreError
from cmf_core.store.engine import build_engine, first_line, safe_url
from cmf_core.store.schema import HEAD_REVISION, REVISIONS, metadata

MIGRATIONS = Path(__file__).with_name("migrations")


def read_revision(conn: Connection) -> str | None:
    """The store's Alembic revision, or None for a database without cmf tables."""
    inspector = inspect(conn)
    if not inspector.has_table("alembic_version"):
        if inspector.has_table("MLMDEnv") or inspector.has_table("Artifact"):
            raise StoreError(
                "{store} is an ML Metadata database, not a cmf store: this is an HPE CMF file "
                "(cmflib's mlmd); `cmf import-mlmd` with its path brings its runs into the "
                "project's store.",
                kind=Kind.STORE,
                store=safe_url(conn.engine.url),
            )
        if inspector.has_table("executions") or inspector.has_table("artifacts"):
            raise StoreError(
                "This database has cmf-like tables but no schema version; it was not made by "
                "cmf. Point CMF_STORE_URL at a new database or file."
            )
        return None
    row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return None if row is None else str(row[0])


def _on_a_read_only_place(engine: Engine) -> bool:
    """Whether a SQLite store's file, or the folder it is in, cannot be written."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return False
    folder = Path(engine.url.database).parent
    try:
        read_only_mount = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
    return read_only_mount or not os.access(folder, os.W_OK)


def prepare_schema(engine: Engine, url: str) -> None:
    """Create a new store at the newest schema, or check (and for SQLite upgrade) an old one."""
    try:
        with engine.connect() as conn:
            conn.execution_options(cmf_write=True)
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    # Two processes creating one new database must not both run DDL.
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(8231736)")
                revision = read_revision(conn)
                if revision is None:
                    metadata.create_all(conn)
                    conn.exec_driver_sql(
                        "CREATE TABLE IF NOT EXISTS alembic_version "
                        "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
                    )
                    conn.exec_driver_sql(
                        f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD_REVISION}')"
                    )
                    return
    except SQLAlchemyError as exc:
        if _on_a_read_only_place(engine):
            raise StoreError(
                "The store {store} is on a read-only file system or in a folder this user "
                "may not write to: recording needs write access there; reading it works.",
                kind=Kind.STORE,
                store=safe_url(url),
            ) from exc
        raise StoreError(
            f"Cannot open the store {{store}}: {first_line(exc)}. Check that it is "
            "reachable and that you may write to it.",
            kind=Kind.STORE,
            store=safe_url(url),
        ) from exc
    if revision == HEAD_REVISION:
        return
    if revision not in REVISIONS:
        raise StoreError(
            f"The store {{store}} has schema revision {revision!r}, newer than this cmf "
            f"knows (newest: {HEAD_REVISION!r}); upgrade cmf (pip install -U cmf).",
            kind=Kind.STORE,
            store=safe_url(url),
        )
    if engine.dialect.name == "sqlite":
        upgrade_engine(engine)
        return
    raise StoreError(
        f"The store {{store}} has schema revision {revision!r}; this cmf needs "
        f"{HEAD_REVISION!r}: it must be upgraded (back up the database first).",
        kind=Kind.SCHEMA,
        store=safe_url(url),
    )


def check_schema(engine: Engine, url: str) -> None:
    """For a store opened read-only: check its revision, never create, upgrade or lock it."""
    try:
        with engine.connect() as conn, conn.begin():
            revision = read_revision(conn)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"Cannot read the store {{store}}: {first_line(exc)}.",
            kind=Kind.STORE,
            store=safe_url(url),
        ) from exc
    if revision is None:
        raise NotFoundError(
            "No cmf store here ({store} holds no cmf tables); `cmf init` makes one.",
            kind=Kind.PROJECT,
            store=safe_url(url),
        )
    if revision == HEAD_REVISION:
        return
    if revision not in REVISIONS:
        raise StoreError(
            f"The store {{store}} has schema revision {revision!r}, newer than this cmf "
            f"knows (newest: {HEAD_REVISION!r}); upgrade cmf (pip install -U cmf).",
            kind=Kind.STORE,
            store=safe_url(url),
        )
    raise StoreError(
        f"The store {{store}} has schema revision {revision!r}; this cmf needs "
        f"{HEAD_REVISION!r}, and a read does not upgrade it: it must be upgraded first.",
        kind=Kind.SCHEMA,
        store=safe_url(url),
    )


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on ``engine``'s database, in one transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.connect() as conn:
            # Several processes may open an old store at once: each takes the write lock
            # (SQLite) or an advisory lock (PostgreSQL) and upgrades only if no one has yet.
            conn.execution_options(cmf_write=True)
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(8231736)")
                if revision == "head" and read_revision(conn) == HEAD_REVISION:
                    return
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"Upgrading the store {{store}} failed: {first_line(exc)}. Nothing was "
            "changed by the failed step; restore from your backup if in doubt.",
            kind=Kind.STORE,
            store=safe_url(engine.url),
        ) from exc


def upgrade_store(url: str) -> tuple[str | None, str]:
    """Upgrade the store at ``url`` to the newest schema; returns (revision before, after)."""
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            before = read_revision(conn)
        if before is None:
            # A new database: opening it as a store creates it at the newest schema.
            prepare_schema(engine, url)
        elif before not in REVISIONS:
            raise StoreError(
                f"The store {{store}} has schema revision {before!r}, newer than this cmf "
                f"knows (newest: {HEAD_REVISION!r}); upgrade cmf (pip install -U cmf). The "
                "store was left as it was.",
                kind=Kind.STORE,
                store=safe_url(url),
            )
        elif before != HEAD_REVISION:
            upgrade_engine(engine)
        return before, HEAD_REVISION
    except SQLAlchemyError as exc:
        raise StoreError(
            f"Cannot open the store {{store}}: {first_line(exc)}.",
            kind=Kind.STORE,
            store=safe_url(url),
        ) from exc
    finally:
        engine.dispose()
