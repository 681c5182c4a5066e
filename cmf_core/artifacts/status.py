"""Where each artifact's bytes are: the workspace, the cache, each remote.

``artifact_status`` reads and never writes: digests of workspace files come
from the store's stat cache where it still matches (as hashing does) and are
otherwise computed, but nothing is written back.

For the cache, a plain check looks at every object of the artifact with one
``stat``: present, read-only as cmf left it, and (for a file) of the size
recorded. An object made writable or resized behind cmf's back is reported
``corrupt``. ``verify=True`` re-reads every object and compares its md5,
which finds any change at the cost of reading all the bytes.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cmf_core.artifacts.cache import Cache
from cmf_core.artifacts.copying import READ_ONLY
from cmf_core.artifacts.layout import oid_of
from cmf_core.artifacts.transfer import select_uses
from cmf_core.errors import ArtifactError, InvalidInputError
from cmf_core.records import ArtifactType, Record

if TYPE_CHECKING:
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.hashing import StatCache, StatEntry
    from cmf_core.store import Store

Workspace = Literal["same", "modified", "absent"]
Presence = Literal["present", "partial", "absent", "corrupt"]


class ArtifactStatus(Record):
    digest: str
    type: ArtifactType
    size: int | None
    path: str  # the path it was last logged under
    executions: int  # how many executions used it
    workspace: Workspace  # what is at ``path`` now
    cache: Presence
    remotes: dict[str, Presence]


class _ReadOnlyStatCache:
    """The store's stat cache, read but never written (status is a read command)."""

    def __init__(self, inner: "StatCache") -> None:
        self._inner = inner

    def get_stat_entries(self, paths: Sequence[str]) -> dict[str, "StatEntry"]:
        return self._inner.get_stat_entries(paths)

    def put_stat_entries(self, entries: Sequence["StatEntry"]) -> None:
        return None


def artifact_status(
    store: "Store",
    cache: Cache,
    project_root: Path,
    *,
    remotes: Sequence["RemoteStore"] = (),
    pipeline: str | None = None,
    executions: Sequence[str] | None = None,
    verify: bool = False,
    stat_cache: "StatCache | None" = None,
) -> list[ArtifactStatus]:
    """The status of every artifact selected (as for push), newest use last."""
    uses = select_uses(store, pipeline=pipeline, executions=executions)
    latest: dict[str, tuple[str, ArtifactType, int | None]] = {}
    counts: dict[str, set[str]] = {}
    for use in uses:
        latest[use.digest] = (use.path, use.type, use.size)
        counts.setdefault(use.digest, set()).add(use.execution_id)
    objects = {digest: _object_ids(cache, digest) for digest in latest}
    on_remote: dict[str, set[str]] = {}
    for remote in remotes:
        wanted = [oid for oids in objects.values() for oid in oids]
        on_remote[remote.remote.name] = remote.existing(wanted, jobs=8)
    readonly = _ReadOnlyStatCache(stat_cache) if stat_cache is not None else None
    rows = []
    for digest, (path, kind, size) in latest.items():
        oids = objects[digest]
        rows.append(
            ArtifactStatus(
                digest=digest,
                type=kind,
                size=size,
                path=path,
                executions=len(counts[digest]),
                workspace=_workspace(project_root / path, digest, readonly),
                cache=_in_cache(cache, oids, size, verify),
                remotes={
                    name: _presence(len([o for o in oids if o in found]), len(oids))
                    for name, found in on_remote.items()
                },
            )
        )
    return rows


def _object_ids(cache: Cache, digest: str) -> list[str]:
    try:
        return cache.object_ids(digest)
    except ArtifactError:  # a directory whose manifest is not here: its manifest alone
        return [oid_of(digest)]


def _presence(found: int, total: int) -> Presence:
    return "present" if found == total else "absent" if found == 0 else "partial"


def _workspace(path: Path, digest: str, stat_cache: "StatCache | None") -> Workspace:
    from cmf_core.hashing import hash_path

    if not path.exists():
        return "absent"
    try:
        found = hash_path(path, stat_cache=stat_cache, progress=False).digest
    except (ArtifactError, InvalidInputError):
        return "modified"
    return "same" if found == digest else "modified"


def _in_cache(cache: Cache, oids: list[str], size: int | None, verify: bool) -> Presence:
    import os
    import stat

    present = 0
    for oid in oids:
        try:
            info = os.stat(cache.object_path(oid))
        except FileNotFoundError:
            continue
        present += 1
        is_file = len(oids) == 1 and not oid.endswith(".dir")
        if stat.S_IMODE(info.st_mode) & 0o222 and stat.S_IMODE(info.st_mode) != READ_ONLY:
            return "corrupt"
        if is_file and size is not None and info.st_size != size:
            return "corrupt"
        if verify and not cache.check_object(oid):
            return "corrupt"
    return _presence(present, len(oids))


__all__ = ["ArtifactStatus", "artifact_status"]
