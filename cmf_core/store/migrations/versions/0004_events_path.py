"""Index events by path, so looking an artifact up by the path it was logged under is quick.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_path", "events", ["path"])


def downgrade() -> None:
    op.drop_index("ix_events_path", table_name="events")
