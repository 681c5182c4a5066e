"""Read the step metrics of a cmflib ``commit_metrics`` Parquet file.

cmflib writes each ``log_metric`` series to
``cmf_artifacts/<execution uuid>/metrics/<metrics_name>``, a Parquet file (no
extension) with one row per call: the column ``SequenceNumber`` (1, 2, …) and
one column per key. Its mlmd ``Step_Metrics`` artifact holds only the file's
digest, so the values come from the file, when it is still next to the mlmd
file and still has the recorded bytes. :func:`read_step_metrics` returns each
numeric column as (name, step, value) rows, or says why it cannot.

Reading Parquet needs pyarrow (``pip install 'cmf[mlmd]'``), imported only
here and only when such a file is found.
"""

from dataclasses import dataclass
from pathlib import Path

from cmf_core.errors import ArtifactError
from cmf_core.hashing import hash_path

STEP_COLUMN = "SequenceNumber"


@dataclass(frozen=True, slots=True)
class StepMetrics:
    """The rows read from one file, or why there are none; ``skipped_columns`` were not
    numbers."""

    rows: list[tuple[str, int, float]]
    problem: str | None = None
    skipped_columns: tuple[str, ...] = ()


def read_step_metrics(path: Path, digest: str) -> StepMetrics:
    """The step metrics in the cmflib Parquet file at ``path``, which must have ``digest``."""
    try:
        found = hash_path(path, progress=False).digest
    except ArtifactError:
        return StepMetrics([], "its file is not next to the mlmd file")
    if found != digest:
        return StepMetrics([], "its file has changed since cmflib recorded it")
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        return StepMetrics([], "pyarrow is not installed (pip install 'cmf[mlmd]')")
    try:
        table = parquet.read_table(path).to_pydict()
    except Exception as exc:  # pyarrow raises several kinds for a file it cannot read
        return StepMetrics([], f"its file is not readable Parquet ({type(exc).__name__})")
    steps = table.pop(STEP_COLUMN, None)
    count = max((len(values) for values in table.values()), default=0)
    if steps is None or not all(isinstance(step, int) for step in steps):
        steps = list(range(1, count + 1))  # cmflib's numbering, if the index was lost
    rows: list[tuple[str, int, float]] = []
    skipped: list[str] = []
    for name, values in table.items():
        if not all(_is_number(value) for value in values):
            skipped.append(name)
            continue
        rows.extend(
            (name, step, float(value))
            for step, value in zip(steps, values, strict=False)
            if value is not None
        )
    return StepMetrics(rows, None, tuple(skipped))


def _is_number(value: object) -> bool:
    """A number, or None: a step at which this key was not logged."""
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


__all__ = ["StepMetrics", "read_step_metrics"]
