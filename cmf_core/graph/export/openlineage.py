"""Pipelines as OpenLineage run events, built with openlineage-python (optional extra:
``pip install 'cmf[openlineage]'``, imported on first use).

Mapping: stage → job ``<pipeline>.<stage>`` in ``namespace``; execution → run
(its id is the runId) with a START event at its start and a COMPLETE or FAIL
event at its end (a running execution has only START); artifact → dataset
named by the path the run saw, with the digest as its ``version`` facet; params
→ the ``executionParameters`` facet; the Git remote and commit → the job's
``sourceCodeLocation``.
"""

import json
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any

from cmf_core.graph.export.runs import iter_runs, missing_extra
from cmf_core.records import EventDetail, EventDirection, Execution, ExecutionStatus

if TYPE_CHECKING:
    from cmf_core.store import Store

PRODUCER = "urn:cmf:exporter"  # the OpenLineage `producer` URI unless one is given


def to_openlineage(
    store: "Store",
    *,
    pipeline: str | None = None,
    execution_ids: Collection[str] | None = None,
    namespace: str = "cmf",
    producer: str = PRODUCER,
) -> Iterator[dict[str, Any]]:
    """OpenLineage run events (JSON-ready dicts) for every execution selected as in
    :func:`iter_runs`: START, then COMPLETE or FAIL once it ended. Built with
    openlineage-python's classes: the reference that
    :func:`~cmf_core.graph.export.openlineage_lines.stream_openlineage` (faster: it writes
    JSON text) is held to."""
    try:
        from openlineage.client import event_v2 as ol
        from openlineage.client.serde import Serde
    except ImportError as exc:
        raise missing_extra("openlineage-python", "openlineage", "OpenLineage") from exc
    for execution, found in iter_runs(store, pipeline=pipeline, execution_ids=execution_ids):
        for event in _run_events(ol, execution, found, namespace, producer):
            yield Serde.to_dict(event)


def _run_events(
    ol: Any, execution: Execution, found: list[EventDetail], namespace: str, producer: str
) -> list[Any]:
    from openlineage.client.generated import (
        dataset_type_dataset,
        dataset_version_dataset,
        error_message_run,
        execution_parameters_run,
        job_type_job,
        source_code_location_job,
    )

    def facets(event: EventDetail) -> dict[str, Any]:
        kind = "MODEL" if event.artifact.type.value == "model" else "FILE"
        return {
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=event.artifact.digest, producer=producer
            ),
            "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(
                datasetType=kind, subType=event.artifact.type.value, producer=producer
            ),
        }

    inputs = [
        ol.InputDataset(namespace=namespace, name=e.path, facets=facets(e))
        for e in found
        if e.direction is EventDirection.INPUT
    ]
    outputs = [
        ol.OutputDataset(namespace=namespace, name=e.path, facets=facets(e))
        for e in found
        if e.direction is EventDirection.OUTPUT
    ]
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="CMF", jobType="STAGE", producer=producer
        )
    }
    if execution.git_remote and execution.git_commit_start:
        job_facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="git",
            url=execution.git_remote,
            repoUrl=execution.git_remote,
            version=execution.git_commit_start,
            branch=execution.git_branch,
            producer=producer,
        )
    job = ol.Job(
        namespace=namespace, name=f"{execution.pipeline}.{execution.stage}", facets=job_facets
    )
    run_facets: dict[str, Any] = {}
    if execution.params:
        parameters = [
            execution_parameters_run.ExecutionParameter(
                key=key, value=value if isinstance(value, str) else json.dumps(value)
            )
            for key, value in execution.params.items()
        ]
        run_facets["executionParameters"] = execution_parameters_run.ExecutionParametersRunFacet(
            parameters=parameters, producer=producer
        )
    events = [
        ol.RunEvent(
            eventType=ol.RunState.START,
            eventTime=execution.started_at.isoformat(),
            run=ol.Run(runId=execution.id, facets=run_facets),
            job=job,
            inputs=inputs,
            outputs=outputs if execution.status is ExecutionStatus.RUNNING else [],
            producer=producer,
        )
    ]
    if execution.status is not ExecutionStatus.RUNNING and execution.ended_at is not None:
        failed = execution.status is ExecutionStatus.FAILED
        end_facets = dict(run_facets)
        if failed:
            end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=execution.error or "failed",
                programmingLanguage="python",
                producer=producer,
            )
        events.append(
            ol.RunEvent(
                eventType=ol.RunState.FAIL if failed else ol.RunState.COMPLETE,
                eventTime=execution.ended_at.isoformat(),
                run=ol.Run(runId=execution.id, facets=end_facets),
                job=job,
                inputs=inputs,
                outputs=outputs,
                producer=producer,
            )
        )
    return events
