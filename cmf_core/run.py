"""``Run``: one execution being recorded — its artifacts, params, properties and metrics.

A ``Run`` writes every call through at once (one short transaction), so a
process killed mid-run leaves a consistent store with the execution visible as
``running``. Step metrics are the exception: they are buffered and written every
10,000 values, once the oldest is a second old (by the process's one flush
thread, :mod:`cmf_core.run_guard`, even if no further call comes), at exit and
on SIGTERM/SIGINT, so a killed process loses at most about a second of a series.
Leaving a ``with run:`` block ends the execution: ``completed``, or ``failed``
with the error text; a run still open when the process exits or gets SIGTERM
ends ``failed`` with what it had.

A run is given what it writes with — the store, the project root paths are
recorded against, the stat cache the hasher reuses, the provenance that reads
HEAD at the end — by the :class:`~cmf_core.recorder.Recorder` that made it.
"""

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from cmf_core.errors import ConflictError, InvalidInputError
from cmf_core.provenance import Provenance
from cmf_core.recorded_path import resolve_path
from cmf_core.records import Artifact, ArtifactType, EventDirection, Execution, ExecutionStatus
from cmf_core.run_guard import GUARD
from cmf_core.validation import (
    MAX_STEP,
    json_mapping,
    metric_name,
    metric_step,
    metric_value,
    parse_direction,
    parse_type,
)

METRIC_BUFFER = 10_000  # step values written in one batch …
METRIC_MAX_AGE_S = 1.0  # … or once the oldest buffered value is this old

if TYPE_CHECKING:  # the store (and SQLAlchemy) and the hasher are imported on first use
    from cmf_core.artifacts.keeper import ArtifactKeeper
    from cmf_core.hashing import StatCache
    from cmf_core.store import Store


class Run:
    """One execution being recorded. Get it from :meth:`Cmf.execution` or :meth:`Cmf.attach`."""

    def __init__(
        self,
        store: "Store",
        execution_id: str,
        *,
        project_root: Path,
        stat_cache: "StatCache",
        provenance: Provenance,
        keeper: "ArtifactKeeper | None" = None,
    ) -> None:
        self._store = store
        self._keeper = keeper
        self.id = execution_id
        self._project_root = project_root
        self._stat_cache = stat_cache
        self._provenance = provenance
        self._lock = threading.RLock()  # a signal handler may flush inside log_metric
        self._buffer: list[tuple[str, int | None, float, float]] = []
        self._buffered_since = 0.0
        self._flushed = 0  # rows written and dropped from the front of the buffer, ever
        self._next_step: dict[str, int] = {}
        self._ended = False
        GUARD.watch(self)

    def __repr__(self) -> str:
        return f"Run(id={self.id!r})"

    @property
    def store(self) -> "Store":
        """The store this run writes to."""
        return self._store

    @property
    def execution(self) -> Execution:
        """The execution as recorded now (a fresh read from the store)."""
        return self._store.get_execution(self.id)

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
        within: Sequence[Path] | None = None,
        stop: threading.Event | None = None,
    ) -> Artifact:
        """Hash the file or directory at ``path`` and record it as this run's input or output.

        ``within`` confines the read to those folders, checked on each opened file
        (a link swapped after a caller's check cannot leak a file from elsewhere);
        ``stop``, once set, ends the hashing early and records nothing.
        """
        from cmf_core.hashing import hash_path
        from cmf_core.store import ArtifactRow

        direction = parse_direction(event)
        kind = parse_type(type)
        self._check_open()
        absolute, recorded = resolve_path(path, self._project_root)
        info = hash_path(absolute, stat_cache=self._stat_cache, within=within, stop=stop)
        if self._keeper is not None:  # the bytes go into the content store before the event
            self._keeper.keep(absolute, info, direction, stat_cache=self._stat_cache)
        row = ArtifactRow(
            digest=info.digest,
            type=kind.value,
            size=info.size,
            nfiles=info.nfiles,
            properties=json_mapping(properties, "properties"),
        )
        return self._store.record_artifact(
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

    def log_tensorboard(self, directory: str | Path) -> Artifact:
        """Record the TensorBoard scalars under ``directory`` as step metrics, and the
        directory as an output of type ``tensorboard`` (:mod:`cmf_core.tensorboard`)."""
        from cmf_core.tensorboard import log_tensorboard

        return log_tensorboard(self, directory)

    # -- params, properties, metrics ---------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Merge ``params`` into the execution's parameters."""
        self._check_open()
        self._store.update_execution(self.id, params=json_mapping(params, "params"))

    def set_properties(self, properties: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Merge free-form properties (tags, notes, anything JSON) into the execution."""
        self._check_open()
        merged = json_mapping({**json_mapping(properties, "properties"), **more}, "properties")
        self._store.update_execution(self.id, properties=merged)

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
        rows = [(metric_name(n), None, metric_value(n, v), now) for n, v in metrics.items()]
        self._store.add_metrics(self.id, rows)

    def log_metric(self, name: str, value: float, *, step: int | None = None) -> None:
        """Buffer one step of the series ``name`` (step defaults to the previous step + 1).

        Buffered values are written every 10,000 values, once the oldest is a
        second old, and at the end, so a killed process loses at most about a
        second of a series.
        """
        self._check_open()
        # Called every step: a float for a series already checked needs no checking again.
        if type(value) is float and type(name) is str and name in self._next_step:
            number = value
        else:
            name = metric_name(name)
            number = metric_value(name, value)
        with self._lock:
            if step is None:
                # A series resumed through Cmf.attach continues after its recorded steps.
                known = self._next_step.get(name)
                step = known if known is not None else self._store.next_step(self.id, name)
            elif type(step) is not int or not 0 <= step <= MAX_STEP:
                step = metric_step(step)  # raises: not a step a store can hold
            self._next_step[name] = step + 1
            if not self._buffer:
                self._buffered_since = time.monotonic()
            self._buffer.append((name, step, number, time.time()))
            due = len(self._buffer) >= METRIC_BUFFER or (
                time.monotonic() - self._buffered_since >= METRIC_MAX_AGE_S
            )
        if due:
            self.flush()

    def flush_if_due(self) -> None:
        """Write the buffer if its oldest value is a second old (called by the flush thread)."""
        with self._lock:
            due = bool(self._buffer) and (
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
        # Rows leave the buffer only once written, so a flush interrupted by a signal
        # (whose handler flushes too) or racing the flush thread loses nothing; rewriting
        # a value already recorded is a no-op. ``_flushed`` counts rows ever dropped, so
        # two flushes of the same rows drop them once.
        with self._lock:
            start, rows = self._flushed, list(self._buffer)
        if not rows:
            return
        try:
            self._store.add_metrics(self.id, rows)
        except ConflictError:
            self._drop_written(start + len(rows))
            raise
        self._drop_written(start + len(rows))

    def _drop_written(self, upto: int) -> None:
        with self._lock:
            written = upto - self._flushed
            if written > 0:
                del self._buffer[:written]
                self._flushed = upto
                self._buffered_since = time.monotonic()

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

    def end_unfinished(self, reason: str) -> None:
        """End the run ``failed`` with ``reason`` if it is still open (exit, SIGTERM)."""
        if not self._ended:
            self.end(ExecutionStatus.FAILED, error=reason)

    def _finish(self, status: ExecutionStatus, error: str | None) -> None:
        self._store.end_execution(
            self.id,
            status=status,
            error=error,
            git_commit_end=self._provenance.head_commit(),
        )
        self._ended = True
        GUARD.forget(self)

    def _check_open(self) -> None:
        if self._ended:
            raise ConflictError(
                f"Execution {self.id} has already ended; an ended execution cannot change. "
                "Start a new execution to record more."
            )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
