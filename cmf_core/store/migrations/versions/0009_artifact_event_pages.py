"""Indexes for an artifact's events a page at a time: by direction and time, and by path.

An artifact read by many runs (a raw dataset) is shown a page at a time: its
producers, then its readers, each oldest first, along (artifact_id, direction,
created_at), which replaces the (artifact_id, direction) index it extends; its
distinct paths come from (artifact_id, path), one probe per path.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_events_artifact_direction_created",
        "events",
        ["artifact_id", "direction", "created_at"],
    )
    op.drop_index("ix_events_artifact_direction", table_name="events")
    op.create_index("ix_events_artifact_path", "events", ["artifact_id", "path"])


def downgrade() -> None:
    op.drop_index("ix_events_artifact_path", table_name="events")
    op.create_index("ix_events_artifact_direction", "events", ["artifact_id", "direction"])
    op.drop_index("ix_events_artifact_direction_created", table_name="events")
