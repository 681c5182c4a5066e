"""The comparison record: what :func:`~cmf_core.compare.compare.compare_runs` returns.

Every per-run list in the record is aligned with ``executions``; the first
execution is the baseline that changes, deltas and ratios are measured
against. ``change`` is ``same`` or ``changed`` when every run has the value,
``added`` when the baseline lacks it, ``removed`` when the baseline has it
and some other run lacks it. Inputs and outputs are diffed by digest: paths
each present in only some runs that hold the same bytes, every run under
exactly one of them, are one ``moved`` entry (``PathDiff.paths`` says which
path each run used) rather than one path removed and another added.

:func:`change_of` (with :func:`same_value`) is that rule, shared by the
comparison and the divergence walk.
"""

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from cmf_core.records import ExecutionStatus, Record

Change = Literal["same", "changed", "added", "removed"]
PathChange = Literal["same", "changed", "added", "removed", "moved"]
DivergenceKind = Literal["settings", "source", "missing", "nondeterministic"]


class RunRef(Record):
    """An execution as a comparison names it; ``label`` is a prefix unique in the comparison."""

    id: str
    label: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    error: str | None


class ParamDiff(Record):
    name: str
    change: Change
    values: list[Any]
    """One per run; None where the run has no such param."""


class MetricDiff(Record):
    """An execution-level metric; ``deltas`` and ``ratios`` are against the first run."""

    name: str
    change: Change
    values: list[float | None]
    deltas: list[float | None]
    ratios: list[float | None]


class SeriesSummary(Record):
    """A step series: values are NaN where NaN was logged; min and max skip NaN."""

    count: int
    nan_count: int
    first_step: int
    last_step: int
    first: float
    last: float
    min: float | None
    max: float | None
    min_step: int | None
    max_step: int | None


class SeriesDiff(Record):
    name: str
    change: Change
    summaries: list[SeriesSummary | None]


class PathDiff(Record):
    """An input or output path: the digest each run read or wrote there.

    A ``moved`` entry is the same bytes under different paths: ``path`` is the
    baseline's, ``paths`` the one each run used (None for every other change)."""

    path: str
    change: PathChange
    digests: list[str | None]
    type: str
    paths: list[str | None] | None = None


class CodeDiff(Record):
    changed: bool
    commits: list[str | None]
    dirty: list[bool | None]
    diff_digests: list[str | None]
    branches: list[str | None]
    remotes: list[str | None]


class PackageDiff(Record):
    name: str
    change: Change
    versions: list[str | None]


class EnvironmentDiff(Record):
    """Environments from their recorded documents; ``packages`` lists only those that differ."""

    changed: bool
    digests: list[str | None]
    python: list[str | None]
    platforms: list[str | None]
    packages: list[PackageDiff]


class Divergence(Record):
    """Where the runs' upstream lineage parts (see ``cmf_core.compare.divergence`` for ``kind``)."""

    kind: DivergenceKind
    hops: int
    """Artifact hops above the compared runs: 1 is their own inputs."""
    trail: list[str]
    """The paths followed from the compared runs up to ``path`` (``path`` last)."""
    path: str
    digests: list[str | None]
    producers: list[RunRef | None]
    """The executions that wrote ``digests`` (None for a source or a missing path)."""
    reasons: list[str]
    sentence: str
    paths: list[str] | None = None
    """The path each run read it under, when the runs read it under different paths."""
    also: list[str] = []
    """Settings that differ further down the trail ("prepare: code differs (…)"): not the
    cause, since the runs there read different inputs too."""


class Comparison(Record):
    executions: list[RunRef]
    params: list[ParamDiff]
    metrics: list[MetricDiff]
    series: list[SeriesDiff]
    inputs: list[PathDiff]
    outputs: list[PathDiff]
    code: CodeDiff
    environment: EnvironmentDiff
    divergence: list[Divergence]
    summary: list[str]
    """Plain sentences, most telling first: what a person or a model reads first."""


def change_of(values: Sequence[Any], present: Sequence[bool]) -> Change:
    if all(present):
        return "same" if all(same_value(v, values[0]) for v in values) else "changed"
    return "removed" if present[0] else "added"


def same_value(a: Any, b: Any) -> bool:
    """Equal as recorded values: NaN equals NaN, 1 equals 1.0, True does not equal 1."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return isinstance(a, bool) == isinstance(b, bool) and bool(a == b)
