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


def push_artifacts(
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
            manifests[oid] = cache.object_ids(digest)[1:]
        else:
            files.setdefault(oid, digest)
    workers = jobs or (LOCAL_JOBS if remote.is_local else 4 * (os.cpu_count() or 1))
    # A manifest is placed only after its files (here and by DVC), so a directory whose
    # manifest the remote has is whole there: its files need not be asked about one by one.
    present = remote.existing(manifests, jobs=workers)
    for oid, members in manifests.items():
        if oid not in present:
            for member in members:
                files.setdefault(member, digest_of(oid))
    present |= remote.existing(files, jobs=workers)
    sizes: dict[str, int] = {}
    for oid in [oid for oid in files if oid not in present]:
        try:
            sizes[oid] = os.stat(cache.object_path(oid)).st_size
        except FileNotFoundError:
            problems.append(problem(oid, files[oid], "not in the cache", users))
    todo = list(sizes)
    sent, failed = _send(cache, remote, todo, sizes, files, users, workers, progress, problems)
    failed |= {p.oid for p in problems}
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
        already=len(present) + sum(len(set(m)) for o, m in manifests.items() if o in present),
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


__all__ = ["push_artifacts"]
