"""The execution_params table: each number and text param a row, indexed by (name, value).

A param filter matching few executions and a sort by a param read along
(name, number, execution) or (name, string, execution) instead of every
execution's JSON. Triggers keep the table equal to ``executions.params``
(cmf_core/store/param_index.py); this fills it from the executions stored.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from cmf_core.store.param_index import fill, install

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _ordered(length: int | None = None) -> sa.types.TypeEngine[str]:
    plain = sa.String(length) if length else sa.Text()
    ordered = sa.String(length, collation="C") if length else sa.Text(collation="C")
    return plain.with_variant(ordered, "postgresql")


def upgrade() -> None:
    op.create_table(
        "execution_params",
        sa.Column("execution_id", _ordered(36), primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("number", sa.Numeric(asdecimal=False)),
        sa.Column("string", _ordered()),
    )
    conn = op.get_bind()
    dialect = conn.dialect.name
    fill(conn, dialect)
    for kind in ("number", "string"):
        op.create_index(
            f"ix_execution_params_{kind}",
            "execution_params",
            ["name", kind, "execution_id"],
            sqlite_where=sa.text(f"{kind} IS NOT NULL"),
            postgresql_where=sa.text(f"{kind} IS NOT NULL"),
        )
    install(conn, dialect)
    if dialect == "postgresql":  # as autovacuum soon would: plans for a 4M-row table need it
        conn.exec_driver_sql("ANALYZE execution_params")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP TRIGGER tr_execution_params ON executions")
        conn.exec_driver_sql("DROP FUNCTION cmf_execution_params()")
    else:
        for kind in ("insert", "update", "delete"):
            conn.exec_driver_sql(f"DROP TRIGGER tr_execution_params_{kind}")
    op.drop_table("execution_params")
