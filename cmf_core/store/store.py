"""``Store``: the one stateful object of a store, assembled from one piece per area.

One ``Store`` owns one SQLAlchemy engine (thread-safe; share the object across
threads). Every method is one short transaction. The pieces, each with its SQL
in its own module and each reaching the database only through
:class:`~cmf_core.store.base.StoreBase`'s transactions:

- :mod:`~cmf_core.store.writes`: pipelines, stages, executions, artifacts, events, metrics;
- :mod:`~cmf_core.store.stat_cache`: the hasher's stat cache;
- this module: reads of single records and plain lists (SQL in :mod:`~cmf_core.store.reads`);
- :mod:`~cmf_core.store.search`: filtered, sorted, paged searches (SQL in
  :mod:`~cmf_core.store.filter_sql`);
- :mod:`~cmf_core.store.graph`: the lineage walk's batched hops;
- :mod:`~cmf_core.store.export_reads`: lean pages for the streamed OpenLineage and PROV exports;
- :mod:`~cmf_core.store.history`: lookups by id, stage and pipeline for comparisons and cmflib;
- :mod:`~cmf_core.store.metric_reads`: metric values, series and their statistics;
- :mod:`~cmf_core.store.metric_samples`: step series sampled down for metric tables;
- :mod:`~cmf_core.store.artifact_walk`: cmflib's artifact-to-artifact walk;
- :mod:`~cmf_core.store.tokens`: the server's access tokens;
- :mod:`~cmf_core.store.liveness`: where running executions' processes live, heartbeats;
- :mod:`~cmf_core.store.changes`: sync's journal pages, cursors, kept conflicts and audit.
"""

from sqlalchemy import func, select

from cmf_core.errors import InvalidInputError
from cmf_core.records import (
    Artifact,
    ArtifactDetail,
    Execution,
    ExecutionDetail,
    ExecutionStatus,
    Metric,
    Pipeline,
    Stage,
)
from cmf_core.store import reads
from cmf_core.store.annotations import AnnotationRecords
from cmf_core.store.artifact_walk import ArtifactWalk
from cmf_core.store.changes import SyncRecords
from cmf_core.store.export_reads import ExportReads
from cmf_core.store.graph import GraphReads
from cmf_core.store.history import HistoryReads
from cmf_core.store.liveness import LivenessRecords
from cmf_core.store.metric_reads import MetricReads
from cmf_core.store.metric_samples import MetricSamples
from cmf_core.store.schema import artifacts, events, executions, metrics, pipelines, stages
from cmf_core.store.search import SearchReads
from cmf_core.store.stat_cache import StatCacheRecords
from cmf_core.store.tokens import TokenRecords
from cmf_core.store.writes import ArtifactRow, Writes


class Store(
    Writes,
    StatCacheRecords,
    SearchReads,
    GraphReads,
    ExportReads,
    HistoryReads,
    MetricReads,
    MetricSamples,
    ArtifactWalk,
    TokenRecords,
    AnnotationRecords,
    LivenessRecords,
    SyncRecords,
):
    """A cmf store at ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``).

    Opening a store creates it at the newest schema if it is empty and checks
    its schema revision otherwise (see :mod:`cmf_core.store.migrate`). One
    ``Store`` is safe to share across threads; every method is one short
    transaction.
    """

    # -- reads -------------------------------------------------------------------------------

    def list_pipelines(self) -> list[Pipeline]:
        with self._read() as conn:
            return reads.list_pipelines(conn)

    def list_stages(self, *, pipeline: str | None = None) -> list[Stage]:
        with self._read() as conn:
            return reads.list_stages(conn, pipeline=pipeline)

    def list_executions(
        self,
        *,
        pipeline: str | None = None,
        stage: str | None = None,
        status: ExecutionStatus | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Execution]:
        with self._read() as conn:
            return reads.list_executions(
                conn, pipeline=pipeline, stage=stage, status=status, limit=limit, offset=offset
            )

    def list_artifacts(
        self,
        *,
        type: str | None = None,
        pipeline: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[Artifact, str | None]]:
        """Artifacts, newest first, each with the path it was last logged under."""
        with self._read() as conn:
            return reads.list_artifacts(
                conn, type=type, pipeline=pipeline, limit=limit, offset=offset
            )

    def resolve_execution_id(self, id_or_prefix: str) -> str:
        """The one execution id starting with ``id_or_prefix``; unknown ones get near matches."""
        with self._read() as conn:
            return reads.resolve_execution_id(conn, id_or_prefix)

    def resolve_digest(self, digest_or_prefix: str) -> str:
        """The one digest starting with ``digest_or_prefix`` (``md5:`` may be left out)."""
        with self._read() as conn:
            return reads.resolve_digest(conn, digest_or_prefix)

    def near_matches(self, reference: str) -> list[str]:
        """Recorded execution ids and digests nearest in sort order to ``reference``."""
        with self._read() as conn:
            return reads.near_matches(conn, reference)

    def get_execution(self, id_or_prefix: str) -> Execution:
        with self._read() as conn:
            return reads.get_execution(conn, reads.resolve_execution_id(conn, id_or_prefix))

    def get_execution_detail(self, id_or_prefix: str) -> ExecutionDetail:
        with self._read() as conn:
            return reads.execution_detail(conn, reads.resolve_execution_id(conn, id_or_prefix))

    def get_artifact_detail(
        self, digest_or_prefix: str, *, events_limit: int | None = None, events_offset: int = 0
    ) -> ArtifactDetail:
        """The artifact with every event, or, given ``events_limit``, one page of them
        (producers, then readers, from ``events_offset``) with bounded totals: the cost of a
        page does not grow with the artifact's use."""
        if events_limit is not None and (events_limit < 0 or events_offset < 0):
            raise InvalidInputError("events_limit and events_offset are counts (0 or more).")
        with self._read() as conn:
            digest = reads.resolve_digest(conn, digest_or_prefix)
            return reads.artifact_detail(
                conn, digest, events_limit=events_limit, events_offset=events_offset
            )

    def find_artifacts_by_path(self, path: str) -> list[str]:
        """Digests ever logged under ``path`` (relative to the project root), newest first."""
        with self._read() as conn:
            return reads.digests_for_path(conn, path)

    def next_step(self, execution_id: str, name: str) -> int:
        """One past the last recorded step of the series ``name`` (0 for a new series)."""
        query = select(func.max(metrics.c.step)).where(
            metrics.c.execution_id == execution_id,
            metrics.c.name == name,
            metrics.c.step.is_not(None),
        )
        with self._read() as conn:
            last = conn.execute(query).scalar_one_or_none()
        return 0 if last is None else int(last) + 1

    def get_metrics(self, execution_id: str, *, name: str | None = None) -> list[Metric]:
        with self._read() as conn:
            return reads.list_metrics(conn, execution_id, name=name)

    def count(self, table: str) -> int:
        """Row count of one of the store's tables (for summaries and tests)."""
        known = {t.name: t for t in (pipelines, stages, executions, artifacts, events, metrics)}
        if table not in known:
            raise InvalidInputError(f"Unknown table {table!r}; one of {', '.join(sorted(known))}.")
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(known[table])).scalar_one())


__all__ = ["ArtifactRow", "Store"]
