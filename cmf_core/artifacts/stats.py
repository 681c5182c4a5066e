"""How much storage deduplication saves: bytes logged against bytes stored.

- **logical bytes** — the size of every event: each time an execution logged
  an artifact (as input or output, under any path), its whole size counts, as
  it would if each run kept its own copy.
- **stored bytes** — the size of the distinct objects in the cache: a file
  is stored once however many runs, paths and directories hold it (a file
  shared by two directories is one object).
- **dedup ratio** — logical / stored.

Per pipeline and per artifact type, stored bytes are those of the objects the
group references that are in the cache (an object shared by two pipelines
counts in both, once in the total). Then the objects in the cache and on each
remote: count, and bytes where the remote can say cheaply (a local folder).
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cmf_core.artifacts.cache import Cache
from cmf_core.errors import ArtifactError
from cmf_core.records import Record

if TYPE_CHECKING:
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.store import Store


class GroupStats(Record):
    name: str
    artifacts: int
    events: int
    logical_bytes: int
    stored_bytes: int
    dedup_ratio: float | None


class LocationStats(Record):
    name: str  # "cache" or a remote's name
    objects: int
    bytes: int | None


class StorageStats(Record):
    total: GroupStats
    pipelines: list[GroupStats]
    types: list[GroupStats]
    locations: list[LocationStats]


def storage_stats(
    store: "Store", cache: Cache, *, remotes: Sequence["RemoteStore"] = ()
) -> StorageStats:
    """Logical and stored bytes, in total, per pipeline and per type; objects per location."""
    import os

    from cmf_core.store.artifact_reads import artifact_uses

    uses = [u for u in artifact_uses(store) if u.type.value != "environment"]
    object_sizes: dict[str, int] = {}
    for oid in cache.iter_oids():
        object_sizes[oid] = os.stat(cache.object_path(oid)).st_size
    members: dict[str, list[str]] = {}
    for digest in {u.digest for u in uses}:
        try:
            members[digest] = cache.object_ids(digest)
        except ArtifactError:
            members[digest] = []
    everything: list[tuple[str, int]] = []
    by: dict[str, dict[str, list[tuple[str, int]]]] = {
        "pipeline": defaultdict(list),
        "type": defaultdict(list),
    }
    for use in uses:
        item = (use.digest, use.size or 0)
        everything.append(item)
        by["pipeline"][use.pipeline].append(item)
        by["type"][use.type.value].append(item)
    groups = {kind: dict(found) for kind, found in by.items()}

    def summarise(name: str, items: list[tuple[str, int]]) -> GroupStats:
        digests = {digest for digest, _ in items}
        oids = {oid for digest in digests for oid in members[digest]}
        stored = sum(object_sizes.get(oid, 0) for oid in oids)
        logical = sum(size for _, size in items)
        return GroupStats(
            name=name,
            artifacts=len(digests),
            events=len(items),
            logical_bytes=logical,
            stored_bytes=stored,
            dedup_ratio=round(logical / stored, 3) if stored else None,
        )

    locations = [
        LocationStats(name="cache", objects=len(object_sizes), bytes=sum(object_sizes.values()))
    ]
    for remote in remotes:
        oids = list(remote.iter_oids())
        size = sum(remote.size_of(oid) for oid in oids) if remote.is_local else None
        locations.append(LocationStats(name=remote.remote.name, objects=len(oids), bytes=size))
    return StorageStats(
        total=summarise("total", everything),
        pipelines=[summarise(n, items) for n, items in sorted(groups["pipeline"].items())],
        types=[summarise(n, items) for n, items in sorted(groups["type"].items())],
        locations=locations,
    )


__all__ = ["GroupStats", "LocationStats", "StorageStats", "storage_stats"]
