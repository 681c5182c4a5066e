"""Where an artifact's bytes live in a DVC 3 object store, local or remote.

A digest ``md5:<32 hex>`` is the object ``files/md5/<2 hex>/<30 hex>``; a
directory's ``md5:<32 hex>.dir`` is its manifest, ``files/md5/<2>/<30>.dir``, a
JSON list of ``{"md5", "relpath"}`` naming one file object per entry. This is
the layout DVC 3 uses in its cache and on every remote, so ``dvc pull`` finds
what cmf pushed and the other way round. The object id (``oid``) is the digest
without ``md5:``, as dvc-data names it.
"""

import json
import re
from dataclasses import dataclass

from cmf_core.errors import ArtifactError, InvalidInputError

OBJECTS = ("files", "md5")
"""The folders, under a cache or remote root, that hold the objects."""
_DIGEST = re.compile(r"md5:([0-9a-f]{32})(\.dir)?")
_OID = re.compile(r"[0-9a-f]{32}(\.dir)?")


def oid_of(digest: str) -> str:
    """The dvc-data object id of ``digest``: ``md5:ab…`` → ``ab…``, keeping ``.dir``."""
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise InvalidInputError(
            f"{digest!r} is not an artifact digest (md5:<32 hex digits>, with .dir for a "
            "directory)."
        )
    return digest.removeprefix("md5:")


def digest_of(oid: str) -> str:
    """The digest of a dvc-data object id (the inverse of :func:`oid_of`)."""
    if _OID.fullmatch(oid) is None:
        raise InvalidInputError(f"{oid!r} is not a DVC object id.")
    return f"md5:{oid}"


def is_oid(name: str) -> bool:
    return _OID.fullmatch(name) is not None


def object_relpath(oid: str) -> str:
    """``files/md5/ab/cdef…`` — the object's path under a cache or remote root (posix)."""
    return "/".join((*OBJECTS, oid[:2], oid[2:]))


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file of a directory: where it goes (posix, relative) and its object id."""

    relpath: str
    md5: str


def parse_manifest(data: bytes, *, digest: str) -> list[ManifestEntry]:
    """The entries of a ``.dir`` object's bytes; ArtifactError when they are not a manifest."""
    try:
        raw = json.loads(data)
        entries = [ManifestEntry(str(item["relpath"]), str(item["md5"])) for item in raw]
    except (ValueError, TypeError, KeyError) as exc:
        raise ArtifactError(
            f"The directory manifest of {digest} is not a DVC .dir object ({exc}); "
            "remove it from the cache and pull it again."
        ) from exc
    for entry in entries:
        parts = entry.relpath.split("/")
        if not _OID.fullmatch(entry.md5) or entry.md5.endswith(".dir") or ".." in parts:
            raise ArtifactError(
                f"The directory manifest of {digest} has an unusable entry "
                f"{entry.relpath!r}; remove it from the cache and pull it again."
            )
        if entry.relpath.startswith("/") or "" in parts:
            raise ArtifactError(
                f"The directory manifest of {digest} has an unusable path {entry.relpath!r}."
            )
    return entries


__all__ = [
    "OBJECTS",
    "ManifestEntry",
    "digest_of",
    "is_oid",
    "object_relpath",
    "oid_of",
    "parse_manifest",
]
