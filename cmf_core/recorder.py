"""``Recorder``: a store, a project and the Git and environment capture, making runs.

:class:`cmf_core.Cmf` is a ``Recorder`` with cmflib's method names added
(:mod:`cmf_core.cmflib.writer`), so the arrows point one way: ``tracking`` →
``cmflib.writer`` → ``recorder`` → ``run``. A recorder validates pipeline and
stage names, creates stages once, and starts or attaches the
:class:`~cmf_core.run.Run` objects that record one execution each.

Git and environment capture (:mod:`cmf_core.provenance`). At each execution's
start and end the HEAD commit is read straight from ``.git`` (microseconds). The
full snapshot — remote, branch, dirty flag, diff digest — costs a ``git`` call,
so one ``Recorder`` reuses it while HEAD has not moved and the snapshot is
younger than ``git_refresh_s`` (2 s by default; 0 captures it for every
execution). The environment (Python, platform, installed distributions) is
captured once per ``Recorder`` and stored as an ``environment`` artifact, so
identical environments are one record.
"""

import os
import shlex
import socket
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from cmf_core.errors import ConflictError, InvalidInputError
from cmf_core.provenance import Provenance
from cmf_core.recorded_path import resolve_path
from cmf_core.records import ExecutionStatus
from cmf_core.run import Run
from cmf_core.validation import json_mapping, record_name

if TYPE_CHECKING:  # the store (and SQLAlchemy) is imported on first use
    from cmf_core.store import Store


class Recorder:
    """Records executions of one pipeline's stages into a store.

    ``store`` is a URL, an open :class:`~cmf_core.store.Store`, or None to use
    the project's store (``CMF_STORE_URL``, ``.cmf/config.toml``, else
    ``.cmf/metadata.db`` under the project root). ``properties`` are the
    pipeline's.
    """

    def __init__(
        self,
        *,
        pipeline: str | None,
        store: "str | Store | None",
        project_root: str | Path | None,
        site: str | None,
        properties: Mapping[str, Any] | None,
        capture_git: bool,
        capture_environment: bool,
        git_refresh_s: float,
        track_with_dvc: bool = False,
    ) -> None:
        from cmf_core.artifacts.keeper import ArtifactKeeper
        from cmf_core.config import load_settings, prepare_default_store
        from cmf_core.ids import Uuid7Generator
        from cmf_core.redact import Redactor
        from cmf_core.store import Store

        settings = load_settings(Path(project_root) if project_root is not None else None)
        self.project_root = settings.project_root
        self.keeper = ArtifactKeeper.from_settings(settings, track_with_dvc=track_with_dvc)
        self.site = site or settings.site
        self.pipeline = pipeline
        self._pipeline_properties = json_mapping(properties, "properties")
        if isinstance(store, Store):
            self.store, self._owns_store = store, False
        else:
            if store is None:
                prepare_default_store(settings)
            self.store = Store(
                store or settings.store_url, redactor=Redactor.from_settings(settings)
            )
            self._owns_store = True
        # Digests of unchanged files are reused from the stat cache. It lives in a SQLite
        # store (one machine's); a team's PostgreSQL store is shared by machines whose paths,
        # inodes and mtimes may coincide, so with one the cache stays in this process.
        from cmf_core.hashing import MemoryStatCache, StatCache

        self.stat_cache: StatCache = (
            self.store if self.store.dialect == "sqlite" else MemoryStatCache()
        )
        self._ids = Uuid7Generator()
        self._stage_ids: dict[tuple[str, str], int] = {}
        self._provenance = Provenance(
            self.project_root,
            git=capture_git,
            environment=capture_environment,
            git_refresh_s=git_refresh_s,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store if this recorder opened it."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- executions --------------------------------------------------------------------------

    def stage_id(
        self,
        stage: str,
        *,
        pipeline: str | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> int:
        pipeline_name = record_name(self._pipeline_name(pipeline), "pipeline")
        if not stage or not isinstance(stage, str):
            raise InvalidInputError("A stage needs a non-empty name, e.g. stage='train'.")
        stage = record_name(stage, "stage")
        key = (pipeline_name, stage)
        if key not in self._stage_ids or properties:
            self._stage_ids[key] = self.store.ensure_stage(
                pipeline_name,
                stage,
                pipeline_properties=self._pipeline_properties or None,
                stage_properties=json_mapping(properties, "properties") or None,
            )
        return self._stage_ids[key]

    def _pipeline_name(self, pipeline: str | None) -> str:
        name = pipeline or self.pipeline
        if not name or not isinstance(name, str):
            raise InvalidInputError(
                "No pipeline named: pass Cmf(pipeline='name') or pipeline='name' to this call."
            )
        return name

    def start_execution(
        self,
        stage: str,
        *,
        pipeline: str | None = None,
        params: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        command: str | None = None,
    ) -> Run:
        """Record a new running execution of ``stage`` and return its :class:`Run`."""
        stage_id = self.stage_id(stage, pipeline=pipeline)
        git = self._provenance.git_start()
        execution_id = self._ids.new()
        self.store.start_execution(
            id=execution_id,
            stage_id=stage_id,
            command=command if command is not None else shlex.join(sys.argv),
            params=json_mapping(params, "params"),
            properties=json_mapping(properties, "properties"),
            site=self.site,
            git_remote=git.remote_url if git else None,
            git_branch=git.branch if git else None,
            git_commit_start=git.commit if git else None,
            git_is_dirty=git.is_dirty if git else None,
            git_diff_digest=git.diff_digest if git else None,
            environment_digest=self._provenance.environment_digest(self.store),
            host=socket.gethostname(),
            pid=os.getpid(),  # this process records the run (for `cmf run`: cmf, not the command)
        )
        return self._run(execution_id)

    @contextmanager
    def execution(
        self,
        stage: str,
        *,
        pipeline: str | None = None,
        params: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        command: str | None = None,
    ) -> Iterator[Run]:
        """Run the block as one execution: completed on exit, failed (and re-raised) on error."""
        run = self.start_execution(
            stage, pipeline=pipeline, params=params, properties=properties, command=command
        )
        with run:
            yield run

    def attach(self, execution_id: str) -> Run:
        """A :class:`Run` for an execution already recorded and still running (id or prefix)."""
        execution = self.store.get_execution(execution_id)
        if execution.status is not ExecutionStatus.RUNNING:
            raise ConflictError(
                f"Execution {execution.id} has already ended ({execution.status.value}); "
                "start a new execution to record more."
            )
        return self._run(execution.id)

    # -- artifacts ---------------------------------------------------------------------------

    def resolve_path(self, path: str | Path) -> tuple[Path, str]:
        """(absolute path to read, path to record): relative to the project root when inside it."""
        return resolve_path(path, self.project_root)

    def _run(self, execution_id: str) -> Run:
        return Run(
            self.store,
            execution_id,
            project_root=self.project_root,
            stat_cache=self.stat_cache,
            provenance=self._provenance,
            keeper=self.keeper,
        )
