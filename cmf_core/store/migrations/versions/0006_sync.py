"""Sync: the change journal, sync cursors, kept conflicts and the push audit.

Every record already stored is journaled once (pipelines, stages, artifacts,
then executions oldest first), so a first pull or push of an upgraded store
sends all of it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from cmf_core.store.schema import JSONDict, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("origin", sa.String(255)),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_changes_kind_key", "changes", ["kind", "key"], unique=True)
    op.create_table(
        "sync_cursors",
        sa.Column("server", sa.String(512), primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("scope", sa.String(255), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "conflicts",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("stored", JSONDict, nullable=False),
        sa.Column("incoming", JSONDict, nullable=False),
        sa.Column("incoming_sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_conflicts_version", "conflicts", ["kind", "key", "incoming_sha256"], unique=True
    )
    op.create_table(
        "audit",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("batch", sa.String(36), nullable=False),
        sa.Column("detail", JSONDict, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_actor", "audit", ["actor", "id"])
    _journal_what_is_stored()


def _journal_what_is_stored() -> None:
    from cmf_core.store.journal import journal_everything

    journal_everything(op.get_bind())


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("conflicts")
    op.drop_table("sync_cursors")
    op.drop_table("changes")
