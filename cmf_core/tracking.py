"""``Cmf`` and ``Run``: the façade training scripts call to record executions.

::

    from cmf_core import Cmf

    cmf = Cmf(pipeline="fraud")                       # store found from the project root
    with cmf.execution(stage="train", params={"lr": 0.01}) as run:
        run.log_dataset("data/train.csv", event="input")
        ...
        run.log_metric("loss", 0.31, step=1)          # buffered, written in batches
        run.log_model("models/model.pkl", event="output")
        run.log_metrics({"accuracy": 0.93})           # execution-level

Leaving the block marks the execution ``completed``; an exception marks it
``failed`` with the error text and propagates. Every call writes through at
once (one short transaction), so a process killed mid-run leaves a consistent
store with the execution visible as ``running``.

Git and environment capture. At each execution's start and end the HEAD commit
is read straight from ``.git`` (microseconds). The full snapshot — remote,
branch, dirty flag, diff digest — costs a ``git`` call, so one ``Cmf`` reuses it
while HEAD has not moved and the snapshot is younger than ``git_refresh_s``
(2 s by default; 0 captures it for every execution). The environment (Python,
platform, installed distributions) is captured once per ``Cmf`` and stored as
an ``environment`` artifact, so identical environments are one record.

The cmflib-compatible methods (``create_context``, ``create_execution``,
``log_dataset(url, event, …)``, …) live in :mod:`cmf_core.cmflib.writer`.
"""

import os
import shlex
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from cmf_core.cmflib.writer import CmflibMethods
from cmf_core.errors import ConflictError, InvalidInputError, warn_user
from cmf_core.provenance import Provenance
from cmf_core.records import (
    Artifact,
    ArtifactType,
    EventDirection,
    Execution,
    ExecutionStatus,
)

METRIC_BUFFER = 10_000  # step values written in one batch …
METRIC_MAX_AGE_S = 1.0  # … or once the oldest buffered value is this old
MAX_STEP = 2**63 - 1

if TYPE_CHECKING:  # the store (and SQLAlchemy) is imported on first use
    from cmf_core.store import Store


def parse_direction(event: str | EventDirection) -> EventDirection:
    try:
        return EventDirection(event.lower() if isinstance(event, str) else event)
    except ValueError:
        raise InvalidInputError(
            f"Unknown event direction {event!r}; use 'input' (the run read it) or "
            "'output' (the run wrote it)."
        ) from None


def parse_type(type: str | ArtifactType) -> ArtifactType:
    try:
        return ArtifactType(type.lower() if isinstance(type, str) else type)
    except ValueError:
        known = ", ".join(t.value for t in ArtifactType)
        raise InvalidInputError(f"Unknown artifact type {type!r}; use one of: {known}.") from None


class Cmf(CmflibMethods):
    """Records executions of one pipeline's stages into a store.

    ``store`` is a URL, an open :class:`~cmf_core.store.Store`, or None to use
    the project's store (``CMF_STORE_URL``, ``.cmf/config.toml``, else
    ``.cmf/metadata.db`` under the project root).

    The first five parameters are cmflib's, so ``Cmf(filepath="mlmd",
    pipeline_name="fraud")`` works as it does there: ``filepath`` names a SQLite
    store file, ``pipeline_name`` is ``pipeline``, ``custom_properties`` are the
    pipeline's properties; ``graph`` and ``is_server`` are accepted and ignored
    (lineage is always queryable; there is no separate server mode). See
    :mod:`cmf_core.cmflib.writer` for the cmflib methods.
    """

    def __init__(
        self,
        filepath: str | Path | None = None,
        pipeline_name: str | None = None,
        custom_properties: Mapping[str, Any] | None = None,
        graph: bool = False,
        is_server: bool = False,
        *,
        pipeline: str | None = None,
        store: "str | Store | None" = None,
        project_root: str | Path | None = None,
        site: str | None = None,
        properties: Mapping[str, Any] | None = None,
        capture_git: bool = True,
        capture_environment: bool = True,
        git_refresh_s: float = 2.0,
    ) -> None:
        from cmf_core.config import load_settings, prepare_default_store, sqlite_url
        from cmf_core.ids import Uuid7Generator
        from cmf_core.store import Store

        del graph, is_server  # cmflib options with no meaning here (see the docstring)
        if filepath is not None and store is not None:
            raise InvalidInputError("Give either filepath (a SQLite file) or store, not both.")
        settings = load_settings(Path(project_root) if project_root is not None else None)
        self.project_root = settings.project_root
        self.site = site or settings.site
        self.pipeline = pipeline or pipeline_name
        self._pipeline_properties = {
            **_json_mapping(custom_properties, "custom_properties"),
            **_json_mapping(properties, "properties"),
        }
        if filepath is not None:
            store = sqlite_url(Path(filepath).expanduser().resolve())
        if isinstance(store, Store):
            self.store, self._owns_store = store, False
        else:
            if store is None:
                prepare_default_store(settings)
            self.store, self._owns_store = Store(store or settings.store_url), True
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
        CmflibMethods.__init__(self)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """End an open cmflib-style execution, then close the store if this Cmf opened it."""
        try:
            self.finalize()
        finally:
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
        pipeline_name = _record_name(self._pipeline_name(pipeline), "pipeline")
        if not stage or not isinstance(stage, str):
            raise InvalidInputError("A stage needs a non-empty name, e.g. stage='train'.")
        stage = _record_name(stage, "stage")
        key = (pipeline_name, stage)
        if key not in self._stage_ids or properties:
            self._stage_ids[key] = self.store.ensure_stage(
                pipeline_name,
                stage,
                pipeline_properties=self._pipeline_properties or None,
                stage_properties=_json_mapping(properties, "properties") or None,
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
    ) -> "Run":
        """Record a new running execution of ``stage`` and return its :class:`Run`."""
        stage_id = self.stage_id(stage, pipeline=pipeline)
        git = self._provenance.git_start()
        execution_id = self._ids.new()
        self.store.start_execution(
            id=execution_id,
            stage_id=stage_id,
            command=command if command is not None else shlex.join(sys.argv),
            params=_json_mapping(params, "params"),
            properties=_json_mapping(properties, "properties"),
            site=self.site,
            git_remote=git.remote_url if git else None,
            git_branch=git.branch if git else None,
            git_commit_start=git.commit if git else None,
            git_is_dirty=git.is_dirty if git else None,
            git_diff_digest=git.diff_digest if git else None,
            environment_digest=self._provenance.environment_digest(self.store),
        )
        return Run(self, execution_id)

    @contextmanager
    def execution(
        self,
        stage: str,
        *,
        pipeline: str | None = None,
        params: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        command: str | None = None,
    ) -> Iterator["Run"]:
        """Run the block as one execution: completed on exit, failed (and re-raised) on error."""
        run = self.start_execution(
            stage, pipeline=pipeline, params=params, properties=properties, command=command
        )
        with run:
            yield run

    def attach(self, execution_id: str) -> "Run":
        """A :class:`Run` for an execution already recorded and still running (id or prefix)."""
        execution = self.store.get_execution(execution_id)
        if execution.status is not ExecutionStatus.RUNNING:
            raise ConflictError(
                f"Execution {execution.id} has already ended ({execution.status.value}); "
                "start a new execution to record more."
            )
        return Run(self, execution.id)

    # -- artifacts ---------------------------------------------------------------------------

    def resolve_path(self, path: str | Path) -> tuple[Path, str]:
        """(absolute path to read, path to record): relative to the project root when inside it."""
        if not isinstance(path, str | Path) or not str(path).strip():
            raise InvalidInputError("An artifact needs a path to a file or a directory.")
        given = Path(path).expanduser()
        absolute = given if given.is_absolute() else Path.cwd() / given
        absolute = Path(_normalise(absolute))
        recorded = _inside(absolute, self.project_root)
        if recorded is None:
            # Reached through a symlinked folder (/link/to/project/data.csv)?
            real = Path(os.path.realpath(absolute.parent)) / absolute.name
            recorded = _inside(real, self.project_root)
            absolute = real if recorded is not None else absolute
        if recorded is None:
            warn_user(
                f"{path} is outside the project root {self.project_root}; it is recorded "
                "as given. Keep artifacts inside the project so paths match across machines."
            )
            recorded = str(path)
        if str(path).endswith(("/", "\\")) and not recorded.endswith("/"):
            absolute = Path(str(absolute) + "/")  # keep the trailing slash for the hasher's check
        return absolute, recorded or "."


class Run:
    """One execution being recorded. Get it from :meth:`Cmf.execution` or :meth:`Cmf.attach`."""

    def __init__(self, cmf: Cmf, execution_id: str) -> None:
        self.cmf = cmf
        self.id = execution_id
        self._lock = threading.Lock()
        self._buffer: list[tuple[str, int | None, float, float]] = []
        self._buffered_since = 0.0
        self._next_step: dict[str, int] = {}
        self._ended = False

    def __repr__(self) -> str:
        return f"Run(id={self.id!r})"

    @property
    def execution(self) -> Execution:
        """The execution as recorded now (a fresh read from the store)."""
        return self.cmf.store.get_execution(self.id)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ended:
            return
        if exc is None:
            self.end()
        else:
            self.end(ExecutionStatus.FAILED, error=_describe(exc))

    # -- artifacts ---------------------------------------------------------------------------

    def log_artifact(
        self,
        path: str | Path,
        *,
        type: str | ArtifactType = ArtifactType.OTHER,
        event: str | EventDirection = EventDirection.OUTPUT,
        properties: Mapping[str, Any] | None = None,
    ) -> Artifact:
        """Hash the file or directory at ``path`` and record it as this run's input or output."""
        from cmf_core.hashing import hash_path
        from cmf_core.store import ArtifactRow

        direction = parse_direction(event)
        kind = parse_type(type)
        self._check_open()
        absolute, recorded = self.cmf.resolve_path(path)
        info = hash_path(absolute, stat_cache=self.cmf.stat_cache)
        row = ArtifactRow(
            digest=info.digest,
            type=kind.value,
            size=info.size,
            nfiles=info.nfiles,
            properties=_json_mapping(properties, "properties"),
        )
        return self.cmf.store.record_artifact(
            row, execution_id=self.id, direction=direction, path=recorded
        )

    def log_dataset(
        self,
        path: str | Path,
        *,
        event: str | EventDirection = EventDirection.INPUT,
        properties: Mapping[str, Any] | None = None,
    ) -> Artifact:
        return self.log_artifact(
            path, type=ArtifactType.DATASET, event=event, properties=properties
        )

    def log_model(
        self,
        path: str | Path,
        *,
        event: str | EventDirection = EventDirection.OUTPUT,
        properties: Mapping[str, Any] | None = None,
    ) -> Artifact:
        return self.log_artifact(path, type=ArtifactType.MODEL, event=event, properties=properties)

    # -- params, properties, metrics ---------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Merge ``params`` into the execution's parameters."""
        self._check_open()
        self.cmf.store.update_execution(self.id, params=_json_mapping(params, "params"))

    def set_properties(self, properties: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Merge free-form properties (tags, notes, anything JSON) into the execution."""
        self._check_open()
        merged = _json_mapping({**_json_mapping(properties, "properties"), **more}, "properties")
        self.cmf.store.update_execution(self.id, properties=merged)

    def log_metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        """Record final (execution-level) metrics, or, with ``step``, one step of several series."""
        if not isinstance(metrics, Mapping) or not metrics:
            raise InvalidInputError("log_metrics takes a non-empty mapping of name -> number.")
        if step is not None:
            for name, value in metrics.items():
                self.log_metric(name, value, step=step)
            return
        self._check_open()
        now = time.time()
        rows = [(_metric_name(n), None, _metric_value(n, v), now) for n, v in metrics.items()]
        self.cmf.store.add_metrics(self.id, rows)

    def log_metric(self, name: str, value: float, *, step: int | None = None) -> None:
        """Buffer one step of the series ``name`` (step defaults to the previous step + 1).

        Buffered values are written every 10,000 values, once the oldest is a
        second old, and at the end, so a killed process loses at most about a
        second of a series.
        """
        self._check_open()
        name = _metric_name(name)
        number = _metric_value(name, value)
        with self._lock:
            if step is None:
                # A series resumed through Cmf.attach continues after its recorded steps.
                known = self._next_step.get(name)
                step = known if known is not None else self.cmf.store.next_step(self.id, name)
            elif isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
                raise InvalidInputError(
                    f"step must be a whole number from 0 to 2**63-1, not {step!r}."
                )
            self._next_step[name] = step + 1
            if not self._buffer:
                self._buffered_since = time.monotonic()
            self._buffer.append((name, step, number, time.time()))
            due = len(self._buffer) >= METRIC_BUFFER or (
                time.monotonic() - self._buffered_since >= METRIC_MAX_AGE_S
            )
        if due:
            self.flush()

    def flush(self) -> None:
        """Write buffered step metrics now (see :meth:`log_metric` for when it happens anyway).

        Values that clash with recorded ones (same name and step, another value)
        raise ConflictError; every other value of the batch is still written. If
        the store cannot be reached, the values stay buffered for the next flush.
        """
        with self._lock:
            rows, self._buffer = self._buffer, []
        if not rows:
            return
        try:
            self.cmf.store.add_metrics(self.id, rows)
        except ConflictError:
            raise
        except Exception:
            with self._lock:
                self._buffer[:0] = rows
            raise

    # -- end ---------------------------------------------------------------------------------

    def end(
        self, status: str | ExecutionStatus = ExecutionStatus.COMPLETED, *, error: str | None = None
    ) -> None:
        """Mark the execution ended (``completed`` or ``failed``); buffered metrics are written."""
        try:
            final = ExecutionStatus(status)
        except ValueError:
            raise InvalidInputError(
                f"Unknown status {status!r}; an execution ends 'completed' or 'failed'."
            ) from None
        self._check_open()
        try:
            self.flush()
        except Exception as exc:
            failure = f"writing buffered metrics failed: {exc}"
            self._finish(ExecutionStatus.FAILED, f"{error}; {failure}" if error else failure)
            raise
        self._finish(final, error)

    def _finish(self, status: ExecutionStatus, error: str | None) -> None:
        self.cmf.store.end_execution(
            self.id,
            status=status,
            error=error,
            git_commit_end=self.cmf._provenance.head_commit(),
        )
        self._ended = True

    def _check_open(self) -> None:
        if self._ended:
            raise ConflictError(
                f"Execution {self.id} has already ended; an ended execution cannot change. "
                "Start a new execution to record more."
            )


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _inside(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` in posix form, or None when it is not inside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def _normalise(path: Path) -> str:
    return os.path.normpath(path)


def _json_mapping(value: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be a mapping of name -> value, not {value!r}.")
    import json

    result = {str(k): v for k, v in value.items()}
    try:
        text = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{what} must hold JSON values (str, number, bool, None, lists, dicts; no NaN): {exc}."
        ) from exc
    if "\\u0000" in text:  # PostgreSQL cannot store NUL in JSON text
        raise InvalidInputError(f"{what} must not contain NUL characters (\\x00).")
    return result


def _record_name(name: str, what: str) -> str:
    """A pipeline or stage name both backends can store: 1–255 characters, no control ones."""
    if len(name) > 255 or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise InvalidInputError(
            f"A {what} name must be 1–255 characters without control characters "
            f"(newlines, tabs, NUL); {name[:40]!r}… is not."
        )
    return name


def _metric_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidInputError(f"A metric name must be a non-empty string, not {name!r}.")
    return name


def _metric_value(name: str, value: Any) -> float:
    """``value`` as a float: ints, floats, numpy scalars, 0-d tensors; never a bool."""
    if isinstance(value, bool):
        raise InvalidInputError(f"Metric {name!r} must be a number, not a bool.")
    try:
        return float(value)
    except OverflowError:
        raise InvalidInputError(f"Metric {name!r} is too large for a float: {value!r}.") from None
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"Metric {name!r} must be a number, not {type(value).__name__} {value!r}."
        ) from None
