"""What cmflib's logging calls return, with the attributes cmflib scripts read.

cmflib returns ML Metadata's protobuf objects; scripts read ``.name``, ``.uri``,
``.id``, ``.type`` and ``.properties`` / ``.custom_properties`` from them. cmf
returns records that carry the same attributes beside its own:

- :class:`CmflibArtifact` is the :class:`~cmf_core.records.Artifact` recorded,
  plus ``name`` (``<path>:<hash>`` as cmflib names it), ``uri`` (the bare hash,
  ``<hex>`` or ``<hex>.dir``), ``id`` (the digest: cmf has no integer ids),
  ``path`` and ``custom_properties``; ``type`` stays cmf's type
  (``ArtifactType.DATASET``, which is the string ``"dataset"``) and
  ``type_name`` is cmflib's (``"Dataset"``);
- ``create_context`` and ``create_execution`` return the
  :class:`~cmf_core.cmflib.session.CmflibContext` and
  :class:`~cmf_core.cmflib.session.CmflibExecution` defined beside the session.
"""

from typing import Any

from cmf_core.digest import object_id
from cmf_core.records import Artifact
from cmf_core.vocabulary import ArtifactType

# cmflib's type names (mlmd ArtifactType names) for cmf's artifact types.
TYPE_NAMES = {
    ArtifactType.DATASET: "Dataset",
    ArtifactType.MODEL: "Model",
    ArtifactType.METRICS: "Metrics",
    ArtifactType.STEP_METRICS: "Step_Metrics",
    ArtifactType.DATASLICE: "Dataslice",
    ArtifactType.LABEL: "Label",
    ArtifactType.ENVIRONMENT: "Environment",
}


class CmflibArtifact(Artifact):
    """An :class:`~cmf_core.records.Artifact` with cmflib's attributes (see the module
    docstring)."""

    name: str
    uri: str
    id: str
    path: str
    type_name: str
    custom_properties: dict[str, Any]


def cmflib_artifact(artifact: Artifact, path: str, *, name: str | None = None) -> CmflibArtifact:
    """``artifact`` as cmflib returns it, logged under ``path`` (``name`` defaults to
    ``<path>:<hash>``)."""
    uri = object_id(artifact.digest)
    return CmflibArtifact(
        **artifact.model_dump(),
        name=name if name is not None else f"{path}:{uri}",
        uri=uri,
        id=artifact.digest,
        path=path,
        type_name=TYPE_NAMES.get(artifact.type, artifact.type.value.title()),
        custom_properties=dict(artifact.properties),
    )


__all__ = ["TYPE_NAMES", "CmflibArtifact", "cmflib_artifact"]
