"""Pipelines as OpenLineage run events, streamed: JSON Lines, one page of executions per chunk.

The events are those of :func:`~cmf_core.graph.export.openlineage.to_openlineage`
(same mapping, same fields, same order of keys), written here as plain dicts
rather than built as openlineage-python objects: building and serialising the
library's attrs classes ran at about 1,500 executions/s, below the 5,000/s a
whole-store export needs (bench/bench_export.py measures both). The library
still supplies the spec's schema URLs, so the output follows the installed
version, and ``tests/test_export_stream.py`` checks that both paths write the
same events. Memory holds one page of executions (``runs.BATCH``) at a time.
"""

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cmf_core.graph.export.openlineage import PRODUCER
from cmf_core.graph.export.runs import check_selection, missing_extra, run_pages
from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus

# A str as JSON text, exactly as json.dumps(..., ensure_ascii=False) writes it (the C encoder).
quote: Callable[[str], str] = json.encoder.encode_basestring

if TYPE_CHECKING:
    from datetime import datetime

    from cmf_core.store import Store
    from cmf_core.store.export_reads import ExportEvent, ExportRun


@dataclass(frozen=True, slots=True)
class _Schemas:
    event: str
    parameters: str
    error: str
    job_type: str
    source: str
    version: str
    dataset_type: str


def _schemas() -> _Schemas:
    try:
        from openlineage.client import event_v2 as ol
        from openlineage.client.generated import (
            dataset_type_dataset,
            dataset_version_dataset,
            error_message_run,
            execution_parameters_run,
            job_type_job,
            source_code_location_job,
        )
    except ImportError as exc:
        raise missing_extra("openlineage-python", "openlineage", "OpenLineage") from exc
    return _Schemas(
        event=ol.RunEvent._get_schema(),
        parameters=execution_parameters_run.ExecutionParametersRunFacet._get_schema(),
        error=error_message_run.ErrorMessageRunFacet._get_schema(),
        job_type=job_type_job.JobTypeJobFacet._get_schema(),
        source=source_code_location_job.SourceCodeLocationJobFacet._get_schema(),
        version=dataset_version_dataset.DatasetVersionDatasetFacet._get_schema(),
        dataset_type=dataset_type_dataset.DatasetTypeDatasetFacet._get_schema(),
    )


def stream_openlineage(
    store: "Store",
    *,
    pipeline: str | None = None,
    execution_ids: Collection[str] | None = None,
    namespace: str = "cmf",
    producer: str = PRODUCER,
) -> Iterator[str]:
    """OpenLineage run events as JSON Lines, one chunk of lines per page of executions
    (selected as in :func:`~cmf_core.graph.export.runs.iter_runs`). The extra and the
    pipeline are checked before this returns."""
    writer = _Writer(_schemas(), namespace, producer)
    check_selection(store, pipeline)
    return _chunks(store, writer, pipeline, execution_ids)


def _chunks(
    store: "Store", writer: "_Writer", pipeline: str | None, ids: Collection[str] | None
) -> Iterator[str]:
    for page in run_pages(store, pipeline=pipeline, execution_ids=ids):
        found: dict[str, list[ExportEvent]] = {run.id: [] for run in page}
        for event in store.export_events(found):
            found[event.execution_id].append(event)
        yield "".join(line for run in page for line in writer.lines(run, found[run.id]))


class _Writer:
    """Each run's parts (job, facets, datasets) encoded once and shared by its START and
    end events; the fixed fragments encoded once per export. The text is what
    ``json.dumps(event, ensure_ascii=False)`` gives for the library's event dict."""

    def __init__(self, schemas: _Schemas, namespace: str, producer: str) -> None:
        self.schemas = schemas
        self.producer = producer
        self.dumps = json.JSONEncoder(ensure_ascii=False).encode
        self.quote = quote
        p, q = quote(producer), self.dumps
        self.job_type = q(
            {
                "_producer": producer,
                "_schemaURL": schemas.job_type,
                "processingType": "BATCH",
                "integration": "CMF",
                "jobType": "STAGE",
            }
        )
        self.namespace = q(namespace)
        self.event_head = f'"producer": {p}, "schemaURL": {q(schemas.event)}, "run": {{"runId": '
        self.dataset_head = f'{{"namespace": {self.namespace}, "name": '
        self.version_head = (
            f'"facets": {{"version": {{"_producer": {p}, "_schemaURL": {q(schemas.version)}, '
            '"datasetVersion": '
        )
        self.type_head = (
            f'"datasetType": {{"_producer": {p}, "_schemaURL": {q(schemas.dataset_type)}, '
            '"datasetType": '
        )
        self.kinds = {
            t: (q("MODEL" if t is ArtifactType.MODEL else "FILE"), q(t.value)) for t in ArtifactType
        }

    def datasets(self, found: list["ExportEvent"], direction: EventDirection) -> str:
        q = self.quote
        tail = (
            ', "inputFacets": {}}' if direction is EventDirection.INPUT else ', "outputFacets": {}}'
        )
        parts = []
        for e in found:
            if e.direction is direction:
                kind, sub = self.kinds[e.type]
                parts.append(
                    f"{self.dataset_head}{q(e.path)}, {self.version_head}{q(e.digest)}}}, "
                    f'{self.type_head}{kind}, "subType": {sub}}}}}{tail}'
                )
        return "[" + ", ".join(parts) + "]"

    def job(self, run: "ExportRun") -> str:
        q = self.dumps
        facets = f'{{"jobType": {self.job_type}'
        if run.git_remote and run.git_commit_start:
            source: dict[str, Any] = {
                "_producer": self.producer,
                "_schemaURL": self.schemas.source,
                "type": "git",
                "url": run.git_remote,
                "repoUrl": run.git_remote,
                "version": run.git_commit_start,
            }
            if run.git_branch is not None:
                source["branch"] = run.git_branch
            facets += f', "sourceCodeLocation": {q(source)}'
        name = quote(f"{run.pipeline}.{run.stage}")
        return f'{{"namespace": {self.namespace}, "name": {name}, "facets": {facets}}}}}'

    def parameters(self, run: "ExportRun") -> str:
        if not run.params:
            return ""
        return '"executionParameters": ' + self.dumps(
            {
                "_producer": self.producer,
                "_schemaURL": self.schemas.parameters,
                "parameters": [
                    {"key": key, "value": value if isinstance(value, str) else json.dumps(value)}
                    for key, value in run.params.items()
                ],
            }
        )

    def lines(self, run: "ExportRun", found: list["ExportEvent"]) -> list[str]:
        """START, then COMPLETE or FAIL once the run ended, one JSON line each."""
        inputs = self.datasets(found, EventDirection.INPUT)
        outputs = self.datasets(found, EventDirection.OUTPUT)
        job = self.job(run)
        parameters = self.parameters(run)
        run_id = quote(run.id)
        is_running = run.status is ExecutionStatus.RUNNING
        start = self.event(
            "START",
            run.started_at,
            run_id,
            parameters,
            job,
            inputs,
            outputs if is_running else "[]",
        )
        if is_running or run.ended_at is None:
            return [start]
        failed = run.status is ExecutionStatus.FAILED
        facets = parameters
        if failed:
            error = self.dumps(
                {
                    "_producer": self.producer,
                    "_schemaURL": self.schemas.error,
                    "message": run.error or "failed",
                    "programmingLanguage": "python",
                }
            )
            facets = f"{parameters}, " if parameters else ""
            facets += f'"errorMessage": {error}'
        kind = "FAIL" if failed else "COMPLETE"
        return [start, self.event(kind, run.ended_at, run_id, facets, job, inputs, outputs)]

    def event(
        self,
        kind: str,
        time: "datetime",
        run_id: str,
        run_facets: str,
        job: str,
        inputs: str,
        outputs: str,
    ) -> str:
        return (
            f'{{"eventTime": "{time.isoformat()}", {self.event_head}{run_id}, '
            f'"facets": {{{run_facets}}}}}, "job": {job}, "eventType": "{kind}", '
            f'"inputs": {inputs}, "outputs": {outputs}}}\n'
        )
