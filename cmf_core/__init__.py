"""cmf: metadata tracking and versioning for machine-learning pipelines.

    from cmf_core import Cmf

    cmf = Cmf(pipeline="fraud")
    with cmf.execution(stage="train", params={"lr": 0.01}) as run:
        run.log_dataset("data/train.csv")
        run.log_model("models/model.pkl")
        run.log_metrics({"accuracy": 0.93})

``import cmf_core`` is cheap: every public name below is imported from its
module on first use, so a training script pays only for what it calls (the
store's SQLAlchemy, Git, hashing, pandas for ``CmfQuery``).

What lives here (arrows point down only; nothing imports ``cmf_mcp``, ``mcp``,
FastAPI or click, and nothing above ``store/`` imports SQLAlchemy)::

    tracking · runner · provenance   Cmf and Run: pipelines, stages, executions, log_* calls
    recorder · run · validation · recorded_path   what Cmf and Run are made of
    annotate    labels and notes said about an execution or artifact after the fact
    cmflib/     what exists only for cmflib scripts (method names, CmfQuery)
    search/     the filter language, searches, the one cursor codec
    graph/      lineage walks, trace and impact, reference lookup, exports
    compare/    run comparison, divergence, metric history
    recipes/    reproduce recipes and scripts
    steps/      the @step decorator: one execution per call of a function
    protocol/   cmf run's line protocol (CMF_METRICS_FILE): JSON lines from any language
    integrations/  framework adapters, each an optional extra (lightning: CmfLogger)
    git/        the only code that talks to Git: HEAD from files, snapshots, remote URLs
    artifacts/  content store in DVC layout, remotes, push/pull, status, stats, gc, DVC ingest
    digest · hashing · dir_walk · file_errors · environment · paths · progress · ids · auth
    errors · config · records
    store/      SQLAlchemy 2: SQLite by default, PostgreSQL for teams; Alembic migrations

The import block under ``TYPE_CHECKING`` is the one table of public names: it
gives type checkers the real types, and :data:`__all__` and the lazy loader are
read from it, so a name is added in one place.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmf_core.annotate import (
        LABELS_SHOWN,
        MAX_KEY,
        MAX_NOTE,
        MAX_VALUE,
        annotate,
        annotation_history,
        check_annotation,
        default_author,
        labels_of,
    )
    from cmf_core.artifacts.cache import Cache
    from cmf_core.artifacts.dvc_ingest import IngestReport, ingest_dvc
    from cmf_core.artifacts.gc import GcReport, collect_garbage
    from cmf_core.artifacts.pull import pull_artifacts
    from cmf_core.artifacts.push import push_artifacts
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.artifacts.remotes import Remote, add_remote, get_remote, list_remotes
    from cmf_core.artifacts.stats import StorageStats, storage_stats
    from cmf_core.artifacts.status import ArtifactStatus, artifact_status
    from cmf_core.artifacts.transfer import IncompleteTransferError, TransferReport
    from cmf_core.auth import Scope, authenticate, create_token
    from cmf_core.cmflib.importer import ImportSummary, import_mlmd
    from cmf_core.cmflib.mlmd import find_mlmd_file
    from cmf_core.cmflib.query import CmfQuery
    from cmf_core.compare.compare import compare_runs
    from cmf_core.compare.metric_table import (
        MAX_NAMES,
        MAX_POINTS,
        MAX_RUNS,
        MetricCell,
        MetricRun,
        MetricTable,
        metric_table,
        sample_points,
    )
    from cmf_core.compare.metrics import (
        MetricName,
        MetricSeries,
        StageMetric,
        list_metric_names,
        metric_across_stage,
        metric_history,
    )
    from cmf_core.compare.records import Comparison, PathDiff
    from cmf_core.config import (
        Settings,
        default_store_url,
        find_project_root,
        init_project,
        load_settings,
        prepare_default_store,
        sqlite_url,
    )
    from cmf_core.digest import (
        DIGEST_PREFIX,
        Digest,
        digest_prefix,
        dir_digest,
        file_digest,
        parse_digest,
        short_digest,
    )
    from cmf_core.duration import format_duration, parse_duration
    from cmf_core.errors import (
        ArtifactError,
        AuthError,
        CmfError,
        CmfWarning,
        ConfigError,
        ConflictError,
        GitError,
        InvalidInputError,
        Kind,
        NotFoundError,
        StoreError,
        SyncError,
    )
    from cmf_core.git.head import find_work_tree
    from cmf_core.graph.card import ModelCard, model_card
    from cmf_core.graph.card_text import CardQuoting, card_lines
    from cmf_core.graph.export import export_lineage, to_json
    from cmf_core.graph.export.dot import to_dot
    from cmf_core.graph.export.mermaid import to_mermaid
    from cmf_core.graph.export.openlineage import to_openlineage
    from cmf_core.graph.export.prov import to_prov
    from cmf_core.graph.export.runs import pipeline_graph
    from cmf_core.graph.lineage import ArtifactNode, ExecutionNode, LineageGraph, lineage
    from cmf_core.graph.lookup import describe, resolve_reference
    from cmf_core.graph.trace import Impact, Trace, impact, trace
    from cmf_core.hashing import DigestInfo, hash_path
    from cmf_core.paths import check_readable
    from cmf_core.protocol.client import MetricsFile
    from cmf_core.recipes.recipe import Recipe, reproduce
    from cmf_core.recipes.script import reproduce_script
    from cmf_core.records import (
        EVENT_COUNT_CAP,
        Artifact,
        ArtifactDetail,
        Event,
        EventDetail,
        Execution,
        ExecutionDetail,
        GitSnapshot,
        Metric,
        Pipeline,
        Stage,
    )
    from cmf_core.redact import Redactor
    from cmf_core.run import Run
    from cmf_core.runner import run_command
    from cmf_core.search.cursor import decode_cursor, encode_cursor
    from cmf_core.search.help import filter_help, sort_help
    from cmf_core.search.search import (
        ArtifactHit,
        ArtifactPage,
        ExecutionPage,
        search_artifacts,
        search_executions,
    )
    from cmf_core.search.shown_metrics import metrics_named, page_metrics
    from cmf_core.search.tree import MAX_FILTER_LENGTH, FilterSyntaxError
    from cmf_core.stale import (
        STALE_AFTER,
        StaleRun,
        close_stale,
        find_stale,
        stale_detail,
        stale_ids,
    )
    from cmf_core.steps.decorator import step
    from cmf_core.steps.paths import ArtifactPath, Dataset, Metrics, Model, Output
    from cmf_core.store import Store
    from cmf_core.store.annotations import Annotation
    from cmf_core.store.batch import Conflict, KindCounts, MergeSummary
    from cmf_core.store.engine import safe_url
    from cmf_core.store.migrate import upgrade_store
    from cmf_core.sync.bundle import BundleReport, export_bundle, import_bundle
    from cmf_core.sync.client import SyncClient, server_identity
    from cmf_core.sync.federation import federate
    from cmf_core.sync.protocol import SYNC_PROTOCOL, SYNC_PROTOCOL_HEADER, refusal_for_client
    from cmf_core.sync.servers import (
        ServerEntry,
        Target,
        add_server,
        list_servers,
        remove_server,
        resolve_server,
    )
    from cmf_core.sync.service import SYNC_PAGE_LIMIT, sync_changes, sync_missing, sync_receive
    from cmf_core.sync.transfer import SyncReport, pull_metadata, push_metadata
    from cmf_core.sync.wire import SyncBatch, SyncOffer, SyncPage
    from cmf_core.tracking import Cmf
    from cmf_core.vocabulary import (
        ARTIFACT_TYPES,
        DIRECTIONS,
        ENDED_STATUSES,
        LOGGABLE_TYPES,
        STATUSES,
        ArtifactType,
        EventDirection,
        ExecutionStatus,
    )


def _lazy_names() -> dict[str, str]:
    """Public name → module, read from the ``TYPE_CHECKING`` block above (the one table).

    Plain string reading rather than ``ast``: this runs on every ``import cmf_core``, and
    ``ruff format`` keeps the block in the two shapes read here (a guard test checks the
    result against ``ast``).
    """
    with open(__file__, encoding="utf-8") as source:
        text = source.read()
    block = text.split("if TYPE_CHECKING:\n", 1)[1].split("\n\n", 1)[0]
    table: dict[str, str] = {}
    for statement in block.replace("(\n", "").replace(",\n", ", ").replace("\n)", "").split("\n"):
        module, _, names = statement.strip().removeprefix("from ").partition(" import ")
        for name in names.strip(" ,)").split(","):
            table[name.strip()] = module
    return table


_LAZY = _lazy_names()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cmf_core' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY, key=lambda name: (name.lower(), name))
