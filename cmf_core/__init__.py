"""cmf: metadata tracking and versioning for machine-learning pipelines.

``import cmf_core`` is cheap: the store (SQLAlchemy), Git and hashing are
imported on first use, so a training script pays only for what it calls.

    from cmf_core import Cmf

    cmf = Cmf(pipeline="fraud")
    with cmf.execution(stage="train", params={"lr": 0.01}) as run:
        run.log_dataset("data/train.csv")
        run.log_model("models/model.pkl")
        run.log_metrics({"accuracy": 0.93})
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from cmf_core.errors import (
    ArtifactError,
    AuthError,
    CmfError,
    CmfWarning,
    ConfigError,
    ConflictError,
    GitError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    SyncError,
)

if TYPE_CHECKING:
    from cmf_core.auth import Scope, authenticate, create_token
    from cmf_core.cmfquery import CmfQuery
    from cmf_core.compare import Comparison, compare_runs
    from cmf_core.config import Settings, find_project_root, init_project, load_settings
    from cmf_core.export import export_lineage, to_dot, to_json, to_mermaid, to_openlineage, to_prov
    from cmf_core.filters import FilterSyntaxError
    from cmf_core.hashing import DigestInfo, hash_path
    from cmf_core.lineage import LineageGraph, lineage
    from cmf_core.metrics import (
        MetricSeries,
        list_metric_names,
        metric_across_stage,
        metric_history,
    )
    from cmf_core.query import (
        ArtifactHit,
        ArtifactPage,
        ExecutionPage,
        search_artifacts,
        search_executions,
    )
    from cmf_core.records import (
        Artifact,
        ArtifactDetail,
        ArtifactType,
        Event,
        EventDetail,
        EventDirection,
        Execution,
        ExecutionDetail,
        ExecutionStatus,
        GitSnapshot,
        Metric,
        Pipeline,
        Stage,
    )
    from cmf_core.reproduce import Recipe, reproduce
    from cmf_core.reproduce_script import reproduce_script
    from cmf_core.runner import run_command
    from cmf_core.store import Store
    from cmf_core.store.migrate import upgrade_store
    from cmf_core.trace import Impact, Trace, impact, trace
    from cmf_core.tracking import Cmf, Run

_LAZY = {
    **dict.fromkeys(("Scope", "authenticate", "create_token"), "cmf_core.auth"),
    "CmfQuery": "cmf_core.cmfquery",
    **dict.fromkeys(("Comparison", "compare_runs"), "cmf_core.compare"),
    **dict.fromkeys(
        ("export_lineage", "to_dot", "to_json", "to_mermaid", "to_openlineage", "to_prov"),
        "cmf_core.export",
    ),
    "FilterSyntaxError": "cmf_core.filters",
    **dict.fromkeys(("LineageGraph", "lineage"), "cmf_core.lineage"),
    **dict.fromkeys(
        ("MetricSeries", "list_metric_names", "metric_across_stage", "metric_history"),
        "cmf_core.metrics",
    ),
    **dict.fromkeys(
        ("ArtifactHit", "ArtifactPage", "ExecutionPage", "search_artifacts", "search_executions"),
        "cmf_core.query",
    ),
    **dict.fromkeys(("Recipe", "reproduce"), "cmf_core.reproduce"),
    "reproduce_script": "cmf_core.reproduce_script",
    **dict.fromkeys(("Impact", "Trace", "impact", "trace"), "cmf_core.trace"),
    "Cmf": "cmf_core.tracking",
    "Run": "cmf_core.tracking",
    "Store": "cmf_core.store",
    "upgrade_store": "cmf_core.store.migrate",
    "run_command": "cmf_core.runner",
    "DigestInfo": "cmf_core.hashing",
    "hash_path": "cmf_core.hashing",
    "Settings": "cmf_core.config",
    "find_project_root": "cmf_core.config",
    "init_project": "cmf_core.config",
    "load_settings": "cmf_core.config",
    **{
        name: "cmf_core.records"
        for name in (
            "Artifact",
            "ArtifactDetail",
            "ArtifactType",
            "Event",
            "EventDetail",
            "EventDirection",
            "Execution",
            "ExecutionDetail",
            "ExecutionStatus",
            "GitSnapshot",
            "Metric",
            "Pipeline",
            "Stage",
        )
    },
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cmf_core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Artifact",
    "ArtifactDetail",
    "ArtifactError",
    "ArtifactHit",
    "ArtifactPage",
    "ArtifactType",
    "AuthError",
    "Cmf",
    "CmfError",
    "CmfQuery",
    "CmfWarning",
    "Comparison",
    "ConfigError",
    "ConflictError",
    "DigestInfo",
    "Event",
    "EventDetail",
    "EventDirection",
    "Execution",
    "ExecutionDetail",
    "ExecutionPage",
    "ExecutionStatus",
    "FilterSyntaxError",
    "GitError",
    "GitSnapshot",
    "Impact",
    "InvalidInputError",
    "LineageGraph",
    "Metric",
    "MetricSeries",
    "NotFoundError",
    "Pipeline",
    "Recipe",
    "Run",
    "Scope",
    "Settings",
    "Stage",
    "Store",
    "StoreError",
    "SyncError",
    "Trace",
    "authenticate",
    "compare_runs",
    "create_token",
    "export_lineage",
    "find_project_root",
    "hash_path",
    "impact",
    "init_project",
    "lineage",
    "list_metric_names",
    "load_settings",
    "metric_across_stage",
    "metric_history",
    "reproduce",
    "reproduce_script",
    "run_command",
    "search_artifacts",
    "search_executions",
    "to_dot",
    "to_json",
    "to_mermaid",
    "to_openlineage",
    "to_prov",
    "trace",
    "upgrade_store",
]
