"""Path types for ``@step`` signatures: what an argument or a return value is as an artifact.

::

    @step(pipeline="fraud")
    def train(features: Dataset, model: Output[Model]) -> Metrics:
        ...
        return Metrics("metrics.json")

An argument annotated ``Dataset``, ``Model`` or ``Metrics`` (or ``X | None``,
``list[X]``) is an input of the execution; one annotated ``Output[X]`` is an
output; a returned value of one of these types (alone, or in a tuple or list)
is an output. The values are plain strings (``str`` subclasses), so a body
opens them as it would any path; ``.path`` gives a :class:`pathlib.Path`.
"""

import os
from pathlib import Path
from typing import Annotated, ClassVar, Self, TypeAlias, TypeVar

from cmf_core.vocabulary import ArtifactType


class ArtifactPath(str):
    """A path a step reads or writes, with the artifact type it is recorded as."""

    artifact_type: ClassVar[ArtifactType] = ArtifactType.OTHER

    def __new__(cls, path: "str | os.PathLike[str]") -> Self:
        return super().__new__(cls, os.fspath(path))

    @property
    def path(self) -> Path:
        return Path(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class Dataset(ArtifactPath):
    """A file or directory of data (recorded as type ``dataset``)."""

    artifact_type = ArtifactType.DATASET


class Model(ArtifactPath):
    """A trained model's file or directory (type ``model``)."""

    artifact_type = ArtifactType.MODEL


class Metrics(ArtifactPath):
    """A metrics file (type ``metrics``). A JSON file whose top level maps names to numbers
    also has those numbers recorded as the execution's metrics when it is an output."""

    artifact_type = ArtifactType.METRICS


class OutputMarker:
    """What ``Output[X]`` carries in its ``Annotated`` metadata."""

    def __repr__(self) -> str:
        return "OUTPUT"


OUTPUT = OutputMarker()
P = TypeVar("P", bound=ArtifactPath)
Output: TypeAlias = Annotated[P, OUTPUT]
"""``Output[Model]``: an argument naming a path the step writes (recorded after the body)."""
