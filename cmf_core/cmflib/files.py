"""The files cmflib writes as parquet, written by cmf as CSV and JSON.

They live under ``cmf_artifacts/<execution id>/<kind>/`` in the project (kind
``metrics`` or ``dataslice``) and are recorded by digest like any artifact.
The folder gets a ``.gitignore`` the first time, so the untracked files do not
make the next run's Git state dirty.

- step metrics: ``metrics/<metrics_name>.csv``, a column ``SequenceNumber``
  (the step) and one per key, as cmflib's parquet file has;
- execution metrics: ``metrics/<metrics_name>.json``, one object name -> number;
- a dataslice manifest: ``dataslice/<name>.json``, each path (relative to the
  project root) mapped to ``{"digest": …, **properties}``.
"""

import csv
import json
from pathlib import Path
from typing import Any, cast

ARTIFACTS_FOLDER = "cmf_artifacts"  # at the project root; one folder per execution id
GITIGNORE = "# Written by cmf: these files are recorded by digest; keep them out of Git.\n*\n"


def artifact_folder(root: Path, execution_id: str, kind: str) -> Path:
    """``root/<execution_id>/<kind>``, created, with the ``.gitignore`` in ``root``."""
    folder = root / execution_id / kind
    folder.mkdir(parents=True, exist_ok=True)
    if not (root / ".gitignore").exists():  # untracked files would make later runs dirty
        (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    return folder


def write_step_metrics(path: Path, rows: list[dict[str, float]]) -> list[str]:
    """Write one CSV row per step (numbered from 1); returns the metric columns."""
    columns = dict.fromkeys(key for row in rows for key in row)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, ["SequenceNumber", *columns])
        writer.writeheader()
        writer.writerows({"SequenceNumber": step, **row} for step, row in enumerate(rows, 1))
    return [*columns]


def write_metrics(path: Path, values: dict[str, float]) -> None:
    """Write execution-level metrics as one JSON object (name -> number)."""
    path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_manifest(path: Path, props: dict[str, dict[str, Any]]) -> None:
    path.write_text(json.dumps(props, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    return cast(dict[str, dict[str, Any]], json.loads(path.read_text(encoding="utf-8")))
