"""Run liveness, token expiry and annotations.

Executions record the host and process that run them and, while they live long,
a heartbeat, so a run whose process died can be shown as stale. Tokens may carry
an expiry. Annotations are append-only labels and notes on an execution or an
artifact, recorded after the fact ("this snapshot is bad", "deployed to prod").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from cmf_core.store.schema import UTCDateTime, byte_ordered

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("host", sa.String(255)))
        batch.add_column(sa.Column("pid", sa.Integer))
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime))
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("expires_at", UTCDateTime))
    op.create_table(
        "annotations",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("uid", byte_ordered(36), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_key", byte_ordered(80), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_annotations_uid", "annotations", ["uid"], unique=True)
    op.create_index("ix_annotations_target", "annotations", ["target_kind", "target_key", "id"])
    op.create_index("ix_annotations_key_value", "annotations", ["key", "value"])


def downgrade() -> None:
    op.drop_table("annotations")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid")
        batch.drop_column("host")
