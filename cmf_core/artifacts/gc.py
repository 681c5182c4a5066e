"""Lineage-aware garbage collection of cached or remote objects.

Which executions are kept:

- with neither ``keep_last`` nor ``keep_pipelines``: every execution, so only
  objects no execution references at all are removed;
- otherwise the ``keep_last`` newest executions of each stage (by start time),
  every execution of each pipeline in ``keep_pipelines``, and every execution
  still running (it may be writing);
- then, in every case, everything upstream of a kept execution: the executions
  that produced its inputs, theirs, and so on (breadth-first over events, one
  pass per hop, with a visited set).

Every input and output of a kept execution is kept: its object, and for a
directory its ``.dir`` manifest and every file the manifest names (read from
the cache, else from the remote being collected). A manifest is always placed
after its files, so a directory whose manifest is in neither has no complete
copy there to protect. Everything else under ``files/md5`` is removed —
manifests first, then files, so an interrupted collection never leaves a
manifest whose files are gone. Temporary files a killed transfer left in the
cache (older than an hour) go too. ``dry_run`` (the default) only reports.
"""

import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from cmf_core.artifacts.cache import Cache
from cmf_core.artifacts.layout import digest_of, oid_of, parse_manifest
from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.records import EventDirection, ExecutionStatus, Record

if TYPE_CHECKING:
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.store import Store
    from cmf_core.store.artifact_reads import ArtifactUse

STALE_TEMP_S = 3600.0
SHOWN = 20


class GcReport(Record):
    location: str  # "cache" or the remote's name
    dry_run: bool
    executions: int
    kept_executions: int
    kept_digests: int
    objects: int  # objects found at the location
    removed: int  # objects removed (or, in a dry run, that would be)
    freed_bytes: int
    removed_oids: list[str]  # the first SHOWN of them
    temp_files: int


def kept_executions(
    uses: Sequence["ArtifactUse"],
    *,
    keep_last: int | None = None,
    keep_pipelines: Sequence[str] = (),
) -> set[str]:
    """The executions gc keeps (see the module docstring), upstream closure included."""
    if keep_last is not None and (isinstance(keep_last, bool) or keep_last < 0):
        raise InvalidInputError(f"keep_last must be 0 or more, not {keep_last!r}.")
    by_stage: dict[tuple[str, str], dict[str, object]] = defaultdict(dict)
    inputs: dict[str, set[str]] = defaultdict(set)
    producers: dict[str, set[str]] = defaultdict(set)
    everything: set[str] = set()
    kept: set[str] = set()
    pipelines = set()
    for use in uses:  # oldest execution first
        everything.add(use.execution_id)
        pipelines.add(use.pipeline)
        by_stage[(use.pipeline, use.stage)][use.execution_id] = None
        if use.direction is EventDirection.INPUT:
            inputs[use.execution_id].add(use.digest)
        else:
            producers[use.digest].add(use.execution_id)
        if use.status is ExecutionStatus.RUNNING or use.pipeline in keep_pipelines:
            kept.add(use.execution_id)
    unknown = sorted(set(keep_pipelines) - pipelines)
    if unknown:
        raise NotFoundError(f"No pipeline named {', '.join(map(repr, unknown))} in this store.")
    if keep_last is None and not keep_pipelines:
        return everything
    if keep_last:
        for runs in by_stage.values():
            kept.update(list(runs)[-keep_last:])
    frontier = set(kept)
    while frontier:
        upstream = {p for e in frontier for d in inputs[e] for p in producers[d]}
        frontier = upstream - kept
        kept |= frontier
    return kept


def collect_garbage(
    store: "Store",
    cache: Cache,
    *,
    remote: "RemoteStore | None" = None,
    keep_last: int | None = None,
    keep_pipelines: Sequence[str] = (),
    dry_run: bool = True,
) -> GcReport:
    """Remove the objects no kept execution needs from the cache, or from ``remote``."""
    from cmf_core.store.artifact_reads import artifact_uses

    uses = artifact_uses(store)
    kept = kept_executions(uses, keep_last=keep_last, keep_pipelines=keep_pipelines)
    digests = {use.digest for use in uses if use.execution_id in kept}
    keep = _kept_oids(cache, remote, digests)
    present = list(remote.iter_oids() if remote is not None else cache.iter_oids())
    doomed = [oid for oid in present if oid not in keep]
    doomed.sort(key=lambda oid: (not oid.endswith(".dir"), oid))  # manifests first
    freed = 0
    for oid in doomed:
        if remote is None:
            freed += os.stat(cache.object_path(oid)).st_size if dry_run else cache.remove(oid)
        else:
            freed += remote.size_of(oid)
            if not dry_run:
                remote.remove(oid)
    temps = _stale_temps(cache) if remote is None else []
    if not dry_run:
        from cmf_core.artifacts.copying import discard

        discard(temps)
    return GcReport(
        location="cache" if remote is None else remote.remote.name,
        dry_run=dry_run,
        executions=len({use.execution_id for use in uses}),
        kept_executions=len(kept),
        kept_digests=len(digests),
        objects=len(present),
        removed=len(doomed),
        freed_bytes=freed,
        removed_oids=[digest_of(oid) for oid in doomed[:SHOWN]],
        temp_files=len(temps),
    )


def _kept_oids(cache: Cache, remote: "RemoteStore | None", digests: Iterable[str]) -> set[str]:
    keep: set[str] = set()
    for digest in digests:
        oid = oid_of(digest)
        keep.add(oid)
        if not oid.endswith(".dir"):
            continue
        data = _manifest(cache, remote, oid)
        if data is not None:
            keep.update(entry.md5 for entry in parse_manifest(data, digest=digest))
    return keep


def _manifest(cache: Cache, remote: "RemoteStore | None", oid: str) -> bytes | None:
    if cache.has_object(oid):
        with open(cache.object_path(oid), "rb") as stream:
            return stream.read()
    if remote is None:
        return None
    try:
        with remote.open_object(oid) as stream:
            return stream.read()
    except FileNotFoundError:
        return None


def _stale_temps(cache: Cache) -> list[str]:
    now = time.time()
    stale = []
    for path in cache.temp_files():
        try:
            if now - os.stat(path).st_mtime > STALE_TEMP_S:
                stale.append(path)
        except FileNotFoundError:
            continue
    return stale


__all__ = ["GcReport", "collect_garbage", "kept_executions"]
