"""The model card: one bounded answer to "what is this model, and what made it?".

::

    card = model_card(store, "models/model.pkl")
    card.producer.execution.params, card.producer.metrics, card.sources, card.consumers

A card names the artifact (digest, type, size, the paths it was logged under), the
execution that wrote it (the earliest, when the same bytes were written more than
once) with its params, final metrics, Git commit and environment, the data it was
trained on (that execution's own inputs, and the raw sources upstream: artifacts no
recorded execution wrote), its labels, and the runs that read it.

Everything comes from one upstream walk of :mod:`cmf_core.graph.lineage` on one
connection (at most :data:`SOURCE_DEPTH` hops and :data:`SOURCE_NODES` nodes;
``sources_complete`` says whether it reached every source) plus a handful of single
queries; no query per node. Lists are capped: :data:`MAX_PATHS` paths,
:data:`MAX_SOURCES` sources, :data:`MAX_INPUTS` inputs, :data:`MAX_CONSUMERS` consumers,
each with its total. Consumers are read up to :data:`COUNT_AT_MOST` in index order
without a sort (a raw dataset may feed a million runs): ``consumers_total_is_lower_bound``
says when there were more, and the runs shown are the oldest of those read.

A card of an artifact that is not a model (a dataset, metrics) is still given, with
``is_model`` false and a ``note`` saying what it is: "what made this dataset" is the
same question. An execution id is refused, naming the models that execution wrote.
"""

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmf_core.errors import InvalidInputError, Kind
from cmf_core.graph.lineage import Walk
from cmf_core.graph.lookup import resolve_reference
from cmf_core.records import ArtifactType, EventDirection, Execution, ExecutionStatus, Record

if TYPE_CHECKING:
    from cmf_core.store import Store

SOURCE_DEPTH = 40  # hops walked upstream looking for raw sources
SOURCE_NODES = 300  # nodes that walk may reach
MAX_PATHS = 20
MAX_SOURCES = 20
MAX_INPUTS = 20
MAX_CONSUMERS = 10
MAX_PRODUCERS = 10
MAX_LABELS = 20
COUNT_AT_MOST = 1_000  # consumers counted exactly up to this many


class CardArtifact(Record):
    """An artifact on the card: the model's inputs and sources."""

    digest: str
    type: ArtifactType
    size: int | None
    paths: list[str]
    """The paths it was read under in the walk (at most 5)."""


class CardLabel(Record):
    """A label's newest value (``value`` None for a note), who said it and when."""

    key: str
    value: str | None
    note: str | None
    author: str
    recorded_at: datetime


class CardEnvironment(Record):
    digest: str
    python: str | None
    platform: str | None
    packages: int
    """How many packages the environment document lists."""


class CardProducer(Record):
    """The execution that wrote the artifact, with what it ran with and what it measured."""

    execution: Execution
    metrics: dict[str, float | None]
    """Final (execution-level) metrics; None where NaN was logged (so the card is JSON)."""
    environment: CardEnvironment | None
    inputs: list[CardArtifact]
    """What it read (its training data), at most :data:`MAX_INPUTS`."""
    inputs_total: int
    labels: list[CardLabel]


class CardRun(Record):
    """A run that read the artifact."""

    id: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime


class ModelCard(Record):
    digest: str
    type: ArtifactType
    is_model: bool
    note: str | None
    """Set when the artifact is not a model: what it is."""
    size: int | None
    nfiles: int | None
    created_at: datetime
    paths: list[str]
    paths_total: int
    labels: list[CardLabel]
    producer: CardProducer | None
    """None for a raw source: nothing recorded wrote it."""
    other_producers: list[str]
    """Ids of later executions that wrote the same bytes, at most :data:`MAX_PRODUCERS`."""
    producers_total: int
    sources: list[CardArtifact]
    """Raw sources upstream (no recorded producer), nearest first."""
    sources_total: int
    sources_complete: bool
    """False when the walk stopped at its depth or node limit before reaching every source."""
    consumers: list[CardRun]
    """Runs that read it, oldest first (of the first :data:`COUNT_AT_MOST` read)."""
    consumers_total: int
    consumers_total_is_lower_bound: bool


def model_card(store: "Store", reference: str, *, project_root: Path | None = None) -> ModelCard:
    """The card of the model ``reference`` names (a digest or unique prefix, or a path it
    was logged under: its newest version). See the module docstring for what it holds."""
    kind, key = resolve_reference(store, reference, project_root=project_root)
    if kind == "execution":
        raise _not_an_artifact(store, reference, key)
    with store.graph_reader() as reader:
        walk = Walk(reader, SOURCE_NODES)
        walk.begin("artifact", key)
        walk.walk("artifact", key, True, SOURCE_DEPTH)
        made_by = sorted(
            {e for e, d, way, _ in walk.edges if d == key and way == EventDirection.OUTPUT},
            key=lambda e: (walk.executions[e].started_at, e),
        )
        readers = reader.execution_ids_of(key, EventDirection.INPUT, at_most=COUNT_AT_MOST)
        shown = sorted(readers)[:MAX_CONSUMERS]  # ids are UUIDv7: id order is start order
        full = reader.full_executions({*made_by[:1], *shown})
        paths = walk.start_paths  # the first 20
        if len(paths) >= MAX_PATHS:
            paths = reader.artifact_paths(key, limit=COUNT_AT_MOST)
    artifact = store.get_artifacts([key])[key]
    producer = _producer(store, walk, full[made_by[0]]) if made_by else None
    sources = _sources(walk, key)
    is_model = artifact.type is ArtifactType.MODEL
    return ModelCard(
        digest=key,
        type=artifact.type,
        is_model=is_model,
        note=None
        if is_model
        else f"{key} is a {artifact.type.value}, not a model; this card describes it the same way.",
        size=artifact.size,
        nfiles=artifact.nfiles,
        created_at=artifact.created_at,
        paths=paths[:MAX_PATHS],
        paths_total=len(paths),
        labels=_labels(store, "artifact", key),
        producer=producer,
        other_producers=made_by[1 : 1 + MAX_PRODUCERS],
        producers_total=len(made_by),
        sources=sources[:MAX_SOURCES],
        sources_total=len(sources),
        sources_complete=walk.reason is None,
        consumers=[
            CardRun(
                id=e.id,
                pipeline=e.pipeline,
                stage=e.stage,
                status=e.status,
                started_at=e.started_at,
            )
            for e in (full[i] for i in shown if i in full)
        ],
        consumers_total=min(len(readers), COUNT_AT_MOST),
        consumers_total_is_lower_bound=len(readers) > COUNT_AT_MOST,
    )


def _not_an_artifact(store: "Store", reference: str, execution_id: str) -> InvalidInputError:
    events = store.get_events([execution_id]).get(execution_id, [])
    models = [
        f"{e.artifact.digest} ({e.path})"
        for e in events
        if e.direction is EventDirection.OUTPUT and e.artifact.type is ArtifactType.MODEL
    ]
    wrote = f"; it wrote {', '.join(models[:5])}" if models else "; it wrote no model"
    return InvalidInputError(
        f"A model card starts from a model, and {reference!r} is execution {execution_id}{wrote}.",
        kind=Kind.EXECUTION,
        reference=execution_id,
    )


def _producer(store: "Store", walk: Walk, execution: Execution) -> CardProducer:
    paths = walk.paths()
    inputs = sorted(
        {d for e, d, way, _ in walk.edges if e == execution.id and way == EventDirection.INPUT}
    )
    environment = None
    if execution.environment_digest:
        found = store.get_artifacts([execution.environment_digest])
        document = found.get(execution.environment_digest)
        environment = _environment(
            execution.environment_digest, document.properties if document else {}
        )
    return CardProducer(
        execution=execution,
        metrics={
            k: None if math.isnan(v) else v
            for k, v in store.final_metrics([execution.id])[execution.id].items()
        },
        environment=environment,
        inputs=[_artifact(walk, d, paths) for d in inputs[:MAX_INPUTS]],
        inputs_total=len(inputs),
        labels=_labels(store, "execution", execution.id),
    )


def _sources(walk: Walk, start: str) -> list[CardArtifact]:
    """Artifacts upstream that nothing recorded wrote (the start itself left out)."""
    paths = walk.paths()
    found = [
        d for d in walk.artifacts if d != start and d in walk.expanded and d not in walk.linked
    ]
    found.sort(key=lambda d: (walk.hops[d], d))
    return [_artifact(walk, d, paths) for d in found]


def _artifact(walk: Walk, digest: str, paths: dict[str, set[str]]) -> CardArtifact:
    node = walk.artifact_node(digest, paths)
    return CardArtifact(digest=digest, type=node.type, size=node.size, paths=node.paths[:5])


def _labels(store: "Store", kind: Any, key: str) -> list[CardLabel]:
    return [
        CardLabel(key=a.key, value=a.value, note=a.note, author=a.author, recorded_at=a.recorded_at)
        for a in store.current_labels(kind, key).values()
        if a.value is not None  # a label cleared, or a note only
    ][:MAX_LABELS]


def _environment(digest: str, document: dict[str, Any]) -> CardEnvironment:
    python = document.get("python") or {}
    described = document.get("platform") or {}
    words = [str(described[k]) for k in ("system", "machine") if described.get(k)]
    return CardEnvironment(
        digest=digest,
        python=str(python["version"]) if "version" in python else None,
        platform=" ".join(words) or None,
        packages=len(document.get("packages") or {}),
    )
