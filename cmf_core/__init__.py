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
    from cmf_core.config import Settings, find_project_root, init_project, load_settings
    from cmf_core.hashing import DigestInfo, hash_path
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
    from cmf_core.runner import run_command
    from cmf_core.store import Store
    from cmf_core.store.migrate import upgrade_store
    from cmf_core.tracking import Cmf, Run

_LAZY = {
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
    "ArtifactType",
    "AuthError",
    "Cmf",
    "CmfError",
    "CmfWarning",
    "ConfigError",
    "ConflictError",
    "DigestInfo",
    "Event",
    "EventDetail",
    "EventDirection",
    "Execution",
    "ExecutionDetail",
    "ExecutionStatus",
    "GitError",
    "GitSnapshot",
    "InvalidInputError",
    "Metric",
    "NotFoundError",
    "Pipeline",
    "Run",
    "Settings",
    "Stage",
    "Store",
    "StoreError",
    "SyncError",
    "find_project_root",
    "hash_path",
    "init_project",
    "load_settings",
    "run_command",
    "upgrade_store",
]
