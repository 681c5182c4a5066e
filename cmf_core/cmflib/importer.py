"""Import a whole cmflib project's history from its mlmd file into a cmf store.

::

    from cmf_core import Store, import_mlmd

    with Store("sqlite:///.cmf/metadata.db") as store:
        summary = import_mlmd(store, "mlmd")

The file is read whole and read-only (:mod:`cmf_core.cmflib.mlmd`), mapped to
cmf's records (:mod:`cmf_core.cmflib.mapping`) and merged by natural key
(:mod:`cmf_core.store.merge`), **one transaction per pipeline**: a pipeline is
imported whole or not at all. Importing the same file again changes nothing;
importing a later copy of it (more runs appended by cmflib) adds only what is
new. The :class:`ImportSummary` says, per kind of record, how many were new,
already there, updated, in conflict or skipped, and why.
"""

import dataclasses
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from pydantic import Field

from cmf_core.cmflib.mapping import map_mlmd
from cmf_core.cmflib.mlmd import read_mlmd
from cmf_core.errors import Kind, NotFoundError
from cmf_core.progress import DEFAULT_DELAY, is_terminal
from cmf_core.records import Record
from cmf_core.store.batch import MergeSummary, Tally
from cmf_core.store.merge import merge_records

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from cmf_core.store import Store


class ImportSummary(Record):
    """What an import did: the file, its pipelines, and the merged account of every record."""

    source: str
    schema_version: int
    pipelines_imported: list[str]
    records: MergeSummary = Field(default_factory=MergeSummary)

    @property
    def new(self) -> int:
        """How many records of any kind were new."""
        return sum(
            getattr(self.records, kind).new
            for kind in ("pipelines", "stages", "executions", "artifacts", "events", "metrics")
        )


def import_mlmd(
    store: "Store",
    path: str | Path,
    *,
    pipeline: str | None = None,
    progress: bool | None = None,
) -> ImportSummary:
    """Import the cmflib mlmd file at ``path`` (only ``pipeline``, if given) into ``store``.

    ``progress`` draws a bar on stderr for a long import: ``None`` only on a terminal,
    ``False`` never, ``True`` always. Raises NotFoundError for a missing file or
    pipeline and InvalidInputError for a file that is not a readable mlmd file, before
    anything is stored.
    """
    mlmd = read_mlmd(path)
    tally = Tally()
    batches = map_mlmd(mlmd, tally)
    if pipeline is not None:
        if pipeline not in batches:
            known = ", ".join(sorted(batches)) or "none"
            raise NotFoundError(
                f"No pipeline {pipeline!r} in {{path}}; it holds: {known}.",
                kind=Kind.PATH,
                path=str(path),
            )
        batches = {pipeline: batches[pipeline]}
    total = sum(len(batch) for batch in batches.values())
    with _Bar(total, show=progress) as bar:
        for name, batch in batches.items():
            bar.describe(f"Importing {name}")
            # cmflib stored commands as given: they are redacted as they come in, like a run's.
            redacted = [store.redactor.execution(record) for record in batch.executions]
            batch = dataclasses.replace(batch, executions=redacted)
            tally.add_summary(merge_records(store, batch, progress=bar.advance))
    return ImportSummary(
        source=str(path),
        schema_version=mlmd.schema_version,
        pipelines_imported=list(batches),
        records=tally.summary(),
    )


class _Bar:
    """Records merged so far, drawn by rich on a terminal once the import lasts a while."""

    def __init__(self, total: int, *, show: bool | None) -> None:
        import sys
        import time

        self._stream = sys.stderr
        self._enabled = show is True or (show is None and is_terminal(self._stream))
        self._total = total
        self._done = 0
        self._description = "Importing"
        self._clock = time.monotonic
        self._start = self._clock()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def describe(self, description: str) -> None:
        self._description = description
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=description)

    def advance(self, records: int) -> None:
        self._done += records
        if not self._enabled:
            return
        if self._bar is None:
            if self._clock() - self._start < DEFAULT_DELAY:
                return
            self._start_bar()
        assert self._bar is not None and self._task is not None
        self._bar.update(self._task, completed=self._done)

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records"),
            TimeRemainingColumn(),
            console=Console(file=self._stream),
        )
        self._task = self._bar.add_task(self._description, total=self._total)
        self._bar.start()


__all__ = ["ImportSummary", "import_mlmd"]
