"""Schema upgrades with Alembic, the scripts shipped inside the package.

Alembic is imported only here, so opening an up-to-date store never pays for it.
"""

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cmf_core.errors import Kind, StoreError
from cmf_core.store.engine import build_engine, first_line, read_revision, safe_url
from cmf_core.store.schema import HEAD_REVISION

MIGRATIONS = Path(__file__).with_name("migrations")


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
            from cmf_core.store.engine import prepare_schema

            prepare_schema(engine, url)
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
