"""Putting a cached object at a workspace path: a link where allowed, else a copy.

The object goes to a temporary name beside the target and is renamed over it,
so a failed checkout never leaves a half-written file under the final name.
"""

import os
from collections.abc import Sequence

from cmf_core.artifacts import copying
from cmf_core.artifacts.links import LinkType, link
from cmf_core.errors import ArtifactError, Kind


def place_object(source: str, target: str, link_types: Sequence[LinkType]) -> None:
    """Put the cached object at ``source`` at ``target``, by the first link type that works."""
    if not os.path.isfile(source):
        raise ArtifactError(
            "The object {path} is not in the cache; pull it first.", kind=Kind.PATH, path=source
        )
    folder = os.path.dirname(target) or "."
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise copying.write_error(folder, exc) from exc
    temp = copying.temp_name(target)
    for kind in link_types:
        if kind != "copy" and link(kind, source, temp):
            if kind == "reflink":
                os.chmod(temp, 0o644)
            break
        if kind == "copy":
            with open(source, "rb") as stream:
                temp, _, _ = copying.write_temp(stream, target)
            os.chmod(temp, 0o644)
            break
    else:
        raise ArtifactError(
            f"None of the link types {', '.join(link_types)} works from the cache to "
            "'{path}'; add 'copy' to the cache type.",
            kind=Kind.PATH,
            path=target,
        )
    try:
        os.replace(temp, target)
    except OSError as exc:
        copying.discard([temp])
        raise copying.write_error(target, exc) from exc
