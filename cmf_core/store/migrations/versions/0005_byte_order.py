"""Compare ids, digests and stat-cache paths byte by byte on PostgreSQL (collation "C").

Prefix lookups are range scans; a language collation (en_US…) ignores '-' and
':' and can make them miss rows. SQLite always compares bytes: nothing to do.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    ("executions", "id", "VARCHAR(36)"),
    ("events", "execution_id", "VARCHAR(36)"),
    ("metrics", "execution_id", "VARCHAR(36)"),
    ("artifacts", "digest", "VARCHAR(80)"),
    ("stat_cache", "path", "TEXT"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, type_ in COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE {type_} COLLATE "C"')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, type_ in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {type_} COLLATE \"default\"")
