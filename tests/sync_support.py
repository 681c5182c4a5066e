"""Recording runs straight into a store, for the sync tests (no project, no Git)."""

import hashlib
import time
import uuid

from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow, Store


def digest_of(text: str) -> str:
    return "md5:" + hashlib.md5(text.encode()).hexdigest()


def log_run(
    store: Store,
    pipeline: str,
    stage: str,
    *,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    metrics: dict[str, float] | None = None,
    steps: int = 0,
    end: bool = True,
    site: str | None = None,
) -> str:
    """One execution of ``stage`` reading and writing artifacts named by their content
    (the same name is the same digest in every store)."""
    stage_id = store.ensure_stage(pipeline, stage)
    run = str(uuid.uuid7()) if hasattr(uuid, "uuid7") else str(uuid.uuid4())
    store.start_execution(id=run, stage_id=stage_id, params={"lr": 0.1}, site=site)
    for direction, names in ((EventDirection.INPUT, inputs), (EventDirection.OUTPUT, outputs)):
        for name in names:
            row = ArtifactRow(digest_of(name), "dataset", len(name), None, {"name": name})
            store.record_artifact(row, execution_id=run, direction=direction, path=name)
    now = time.time()
    rows = [(name, None, value, now) for name, value in (metrics or {}).items()]
    rows += [("loss", step, 1.0 / (step + 1), now) for step in range(steps)]
    store.add_metrics(run, rows)
    if end:
        store.end_execution(run, status=ExecutionStatus.COMPLETED)
    return run
