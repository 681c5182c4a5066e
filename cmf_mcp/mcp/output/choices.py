"""The closed sets the tools' parameters and outputs take, built from cmf_core's vocabulary.

``Literal`` types made at import from :mod:`cmf_core.vocabulary`'s tuples, so
a status or artifact type added there reaches every schema without a copy
here; the type checker sees them as plain text.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from cmf_core.vocabulary import (
    ARTIFACT_TYPES,
    DIRECTIONS,
    ENDED_STATUSES,
    LOGGABLE_TYPES,
    STATUSES,
)


def one_of(values: Sequence[str]) -> Any:
    """``Literal[*values]``: a closed set taken from cmf_core's own table, not copied here."""
    return Literal.__getitem__(tuple(values))


if TYPE_CHECKING:  # the checker sees plain text; pydantic and the schema see the closed set
    StatusName = str
    EndStatusName = str
    DirectionName = str
    ArtifactTypeName = str
    LoggableTypeName = str
else:
    StatusName = one_of(STATUSES)
    EndStatusName = one_of(ENDED_STATUSES)
    DirectionName = one_of(DIRECTIONS)
    ArtifactTypeName = one_of(ARTIFACT_TYPES)
    LoggableTypeName = one_of(LOGGABLE_TYPES)
