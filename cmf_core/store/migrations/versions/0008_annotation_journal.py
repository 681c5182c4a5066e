"""Annotations travel with sync: every stored annotation is journaled once.

From this revision on each annotation is journaled when recorded (kind
``annotation``, key its ``uid``, the id that is the same at every site), so
push, pull, bundles and federation carry it. Annotations recorded before
are journaled here, oldest first, so the next push or export sends them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from cmf_core.store.journal import journal_annotations

    journal_annotations(op.get_bind())


def downgrade() -> None:
    op.execute("DELETE FROM changes WHERE kind = 'annotation'")
