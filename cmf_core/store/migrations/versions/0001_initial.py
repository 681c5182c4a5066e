"""The first cmf schema: pipelines, stages, executions, artifacts, events, metrics, stat cache.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from cmf_core.store.schema import JSONDict, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("properties", JSONDict, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "stages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pipeline_id", sa.Integer, sa.ForeignKey("pipelines.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("properties", JSONDict, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("pipeline_id", "name", name="uq_stages_pipeline_name"),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("stage_id", sa.Integer, sa.ForeignKey("stages.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime),
        sa.Column("command", sa.Text),
        sa.Column("params", JSONDict, nullable=False),
        sa.Column("properties", JSONDict, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("site", sa.String(255)),
        sa.Column("git_remote", sa.Text),
        sa.Column("git_branch", sa.String(255)),
        sa.Column("git_commit_start", sa.String(64)),
        sa.Column("git_commit_end", sa.String(64)),
        sa.Column("git_is_dirty", sa.Boolean),
        sa.Column("git_diff_digest", sa.String(80)),
        sa.Column("environment_digest", sa.String(80)),
    )
    op.create_index("ix_executions_stage_started", "executions", ["stage_id", "started_at"])
    op.create_index("ix_executions_status", "executions", ["status"])
    op.create_index("ix_executions_started", "executions", ["started_at"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("digest", sa.String(80), nullable=False, unique=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("nfiles", sa.Integer),
        sa.Column("properties", JSONDict, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_artifacts_type", "artifacts", ["type"])
    op.create_table(
        "events",
        sa.Column(
            "execution_id", sa.String(36), sa.ForeignKey("executions.id"), primary_key=True
        ),
        sa.Column("artifact_id", sa.Integer, sa.ForeignKey("artifacts.id"), primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_events_artifact_direction", "events", ["artifact_id", "direction"])
    op.create_table(
        "metrics",
        sa.Column("execution_id", sa.String(36), sa.ForeignKey("executions.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("step", sa.BigInteger),
        sa.Column("value", sa.Float),
        sa.Column("time", sa.Float, nullable=False),
    )
    op.create_index(
        "uq_metrics_step",
        "metrics",
        ["execution_id", "name", "step"],
        unique=True,
        sqlite_where=sa.text("step IS NOT NULL"),
        postgresql_where=sa.text("step IS NOT NULL"),
    )
    op.create_index(
        "uq_metrics_final",
        "metrics",
        ["execution_id", "name"],
        unique=True,
        sqlite_where=sa.text("step IS NULL"),
        postgresql_where=sa.text("step IS NULL"),
    )
    op.create_table(
        "stat_cache",
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("inode", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("stat_cache", "metrics", "events", "artifacts", "executions", "stages"):
        op.drop_table(table)
    op.drop_table("pipelines")
