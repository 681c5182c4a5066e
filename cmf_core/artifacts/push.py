"""Push: send the selected artifacts' objects that a remote lacks.

See :mod:`cmf_core.artifacts.transfer` for what is selected and how faults end.
"""

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cmf_core.artifacts import copying
from cmf_core.artifacts.cache import BATCH, Cache
from cmf_core.artifacts.layout import digest_of, oid_of
from cmf_core.artifacts.transfer import (
    LOCAL_JOBS,
    IncompleteTransferError,
    ObjectProblem,
    TransferReport,
    in_parallel,
    problem,
    select_uses,
    users_of,
)
from cmf_core.progress import HashProgress

if TYPE_CHECKING:
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.store import Store


def push(
    store: "Store",
    cache: Cache,
    remote: "RemoteStore",
    *,
    pipeline: str | None = None,
    executions: Sequence[str] | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
) -> TransferReport:
    """Send the selected artifacts' objects the remote lacks; see the module docstring."""
    uses = select_uses(store, pipeline=pipeline, executions=executions)
    users = users_of(uses)
    problems: list[ObjectProblem] = []
    files: dict[str, str] = {}  # oid → the artifact it belongs to
    manifests: dict[str, list[str]] = {}  # manifest oid → its file oids
    for digest in users:
        oid = oid_of(digest)
        if not cache.has_object(oid):
            problems.append(problem(oid, digest, "not in the cache", users))
        elif oid.endswith(".dir"):
            members = cache.object_ids(digest)[1:]
            manifests[oid] = members
            for member in members:
                files.setdefault(member, digest)
        else:
            files.setdefault(oid, digest)
    for oid, digest in list(files.items()):
        if not cache.has_object(oid):
            problems.append(problem(oid, digest, "not in the cache", users))
            del files[oid]
    workers = jobs or (LOCAL_JOBS if remote.is_local else 4 * (os.cpu_count() or 1))
    present = remote.existing([*files, *manifests], jobs=workers)
    todo = [oid for oid in files if oid not in present]
    sizes = {oid: os.stat(cache.object_path(oid)).st_size for oid in todo}
    sent, failed = _send(cache, remote, todo, sizes, files, users, workers, progress, problems)
    for oid, members in manifests.items():
        if oid in present or any(m in failed for m in members):
            continue
        _send(cache, remote, [oid], {oid: 0}, {oid: digest_of(oid)}, users, 1, False, problems)
        sent += 1
    report = TransferReport(
        direction="push",
        remote=remote.remote.name,
        artifacts=len(users),
        objects=sent,
        bytes=sum(sizes.values()),
        already=len(present),
        problems=tuple(problems),
    )
    if problems:
        raise IncompleteTransferError(report)
    return report


def _send(
    cache: Cache,
    remote: "RemoteStore",
    todo: list[str],
    sizes: dict[str, int],
    owner: dict[str, str],
    users: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    workers: int,
    progress: bool | None,
    problems: list[ObjectProblem],
) -> tuple[int, set[str]]:
    """Upload ``todo``; returns (objects sent, oids that failed)."""
    failed: set[str] = set()
    sent = 0
    with HashProgress(
        total_files=len(todo), total_bytes=sum(sizes.values()), description="Pushing", show=progress
    ) as bar:
        report = bar.advance if bar.is_enabled else None
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]

            def send(oid: str) -> str | None:
                source = cache.object_path(oid)
                try:
                    if not remote.is_local:
                        remote.upload(source, oid)
                        bar.advance(sizes[oid], files=1)
                        return None
                    temp = remote.stage_local(source, oid, report)
                except copying.CorruptObjectError:
                    problems.append(problem(oid, owner[oid], "corrupt", users))
                    failed.add(oid)
                    return None
                bar.advance(files=1)
                return temp

            staged = in_parallel(send, batch, workers)
            temps = [temp for temp in staged if temp is not None]
            if remote.is_local:
                copying.make_durable(temps)
                for oid, temp in zip(batch, staged, strict=True):
                    if temp is not None:
                        remote.place_local(temp, oid)
            sent += len(batch) - len([o for o in batch if o in failed])
    return sent, failed


__all__ = ["push"]
