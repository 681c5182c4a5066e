"""The REST API's records with their labels: cmf_core's records plus ``labels`` (and, for one
record, ``annotations``), as typed pydantic models so the OpenAPI document names every field.

A listing reads the labels of its whole page in one call (:meth:`Store.labels_for`) and
gives each row at most :data:`LABELS_SHOWN` of them (by key; ``labels_more`` counts the
rest). One record gives all its current labels and its newest :data:`ANNOTATIONS_SHOWN`
annotations, oldest first (``annotations_total`` counts them all).
"""

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from cmf_core.annotate import LABELS_SHOWN, annotation_history
from cmf_core.records import ArtifactDetail, Execution, ExecutionDetail
from cmf_core.search.search import ArtifactHit, ArtifactPage, ExecutionPage
from cmf_core.store import Store
from cmf_core.store.annotations import Annotation

ANNOTATIONS_SHOWN = 100
Kind = Literal["execution", "artifact"]


class LabelledExecution(Execution):
    """An execution with its current labels (key → value)."""

    labels: dict[str, str] = Field(default_factory=dict)
    labels_more: int = 0  # labels left out of this row


class LabelledExecutionPage(ExecutionPage):
    """One page of executions, each with its labels."""

    items: list[LabelledExecution]  # type: ignore[assignment]


class LabelledArtifactHit(ArtifactHit):
    """An artifact found by a search, with its current labels (key → value)."""

    labels: dict[str, str] = Field(default_factory=dict)
    labels_more: int = 0


class LabelledArtifactPage(ArtifactPage):
    """One page of artifacts, each with its labels."""

    items: list[LabelledArtifactHit]  # type: ignore[assignment]


class AnnotatedExecution(ExecutionDetail):
    """One execution with its current labels and its annotation history (newest ones)."""

    labels: dict[str, str]
    annotations: list[Annotation]  # oldest first
    annotations_total: int


class AnnotatedArtifact(ArtifactDetail):
    """One artifact with its current labels and its annotation history (newest ones)."""

    labels: dict[str, str]
    annotations: list[Annotation]  # oldest first
    annotations_total: int


def _bounded(labels: dict[str, str]) -> dict[str, Any]:
    ordered = sorted(labels.items())
    return {
        "labels": dict(ordered[:LABELS_SHOWN]),
        "labels_more": max(0, len(ordered) - LABELS_SHOWN),
    }


def _page_labels(store: Store, kind: Kind, keys: Sequence[str]) -> dict[str, dict[str, str]]:
    return store.labels_for(kind, keys) if keys else {}


def labelled_executions(store: Store, page: ExecutionPage) -> LabelledExecutionPage:
    found = _page_labels(store, "execution", [e.id for e in page.items])
    items = [
        LabelledExecution.model_validate({**dict(e), **_bounded(found.get(e.id, {}))})
        for e in page.items
    ]
    return LabelledExecutionPage.model_validate({**dict(page), "items": items})


def labelled_artifacts(store: Store, page: ArtifactPage) -> LabelledArtifactPage:
    found = _page_labels(store, "artifact", [h.artifact.digest for h in page.items])
    items = [
        LabelledArtifactHit.model_validate(
            {**dict(h), **_bounded(found.get(h.artifact.digest, {}))}
        )
        for h in page.items
    ]
    return LabelledArtifactPage.model_validate({**dict(page), "items": items})


def _annotations(store: Store, kind: Kind, key: str) -> dict[str, Any]:
    history = annotation_history(store, kind, key)
    current = {a.key: a.value for a in history}  # oldest first: the newest value wins
    return {
        "labels": {k: v for k, v in sorted(current.items()) if v is not None},
        "annotations": history[-ANNOTATIONS_SHOWN:],
        "annotations_total": len(history),
    }


def annotated_execution(store: Store, detail: ExecutionDetail) -> AnnotatedExecution:
    extra = _annotations(store, "execution", detail.execution.id)
    return AnnotatedExecution.model_validate({**dict(detail), **extra})


def annotated_artifact(store: Store, detail: ArtifactDetail) -> AnnotatedArtifact:
    extra = _annotations(store, "artifact", detail.artifact.digest)
    return AnnotatedArtifact.model_validate({**dict(detail), **extra})


__all__ = [
    "AnnotatedArtifact",
    "AnnotatedExecution",
    "LabelledArtifactPage",
    "LabelledExecutionPage",
    "annotated_artifact",
    "annotated_execution",
    "labelled_artifacts",
    "labelled_executions",
]
