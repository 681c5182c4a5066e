"""Pull: fetch the selected artifacts' objects the cache lacks, verified, and restore inputs.

See :mod:`cmf_core.artifacts.transfer` for what is selected and how faults end.
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.artifacts import copying
from cmf_core.artifacts.cache import BATCH, Cache
from cmf_core.artifacts.layout import oid_of, parse_manifest
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
from cmf_core.errors import ArtifactError
from cmf_core.progress import HashProgress

if TYPE_CHECKING:
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.store import Store
    from cmf_core.store.artifact_reads import ArtifactUse


def pull_artifacts(
    store: "Store",
    cache: Cache,
    remote: "RemoteStore",
    *,
    pipeline: str | None = None,
    executions: Sequence[str] | None = None,
    restore_to: Path | None = None,
    force: bool = False,
    jobs: int | None = None,
    progress: bool | None = None,
) -> TransferReport:
    """Fetch the selected artifacts' objects the cache lacks, verified; see the module docstring.

    With ``restore_to`` (the project root) and ``executions``, the inputs of those
    executions are then put back at their recorded paths; a workspace file that
    differs from the recorded bytes is replaced only with ``force``.
    """
    uses = select_uses(
        store, pipeline=pipeline, executions=executions, inputs_only=restore_to is not None
    )
    users = users_of(uses)
    problems: list[ObjectProblem] = []
    workers = jobs or (LOCAL_JOBS if remote.is_local else 4 * (os.cpu_count() or 1))
    files: dict[str, str] = {}
    manifests: dict[str, bytes] = {}
    for digest in users:
        oid = oid_of(digest)
        if not oid.endswith(".dir"):
            files.setdefault(oid, digest)
            continue
        data = _manifest_bytes(cache, remote, digest, users, problems)
        if data is not None:
            manifests[digest] = data
            for entry in parse_manifest(data, digest=digest):
                files.setdefault(entry.md5, digest)
    todo = [oid for oid in files if not cache.has_object(oid)]
    already = len(files) - len(todo)
    fetched, nbytes = _fetch(cache, remote, todo, files, users, workers, progress, problems)
    bad = {p.oid for p in problems}
    for digest, data in manifests.items():
        members = {e.md5 for e in parse_manifest(data, digest=digest)}
        if not members & bad:
            cache.add_manifest(digest, data)
    restored = _restore(cache, uses, restore_to, force, users, problems) if restore_to else []
    report = TransferReport(
        direction="pull",
        remote=remote.remote.name,
        artifacts=len(users),
        objects=fetched,
        bytes=nbytes,
        already=already,
        restored=tuple(restored),
        problems=tuple(problems),
    )
    if problems:
        raise IncompleteTransferError(report)
    return report


def _manifest_bytes(
    cache: Cache,
    remote: "RemoteStore",
    digest: str,
    users: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    problems: list[ObjectProblem],
) -> bytes | None:
    """A directory's manifest, from the cache or else the remote (verified)."""
    import hashlib

    oid = oid_of(digest)
    if cache.has_object(oid):
        with open(cache.object_path(oid), "rb") as stream:
            return stream.read()
    try:
        with remote.open_object(oid) as stream:
            data = stream.read()
    except FileNotFoundError:
        problems.append(problem(oid, digest, "missing on the remote", users))
        return None
    if hashlib.md5(data, usedforsecurity=False).hexdigest() != oid.removesuffix(".dir"):
        problems.append(problem(oid, digest, "corrupt", users))
        return None
    return data


def _fetch(
    cache: Cache,
    remote: "RemoteStore",
    todo: list[str],
    owner: dict[str, str],
    users: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    workers: int,
    progress: bool | None,
    problems: list[ObjectProblem],
) -> tuple[int, int]:
    """Download ``todo`` into the cache, verified; returns (objects placed, bytes)."""
    fetched = 0
    sizes: dict[str, int] = {}
    with HashProgress(
        total_files=len(todo),
        total_bytes=_total_size(remote, todo),
        description="Pulling",
        show=progress,
    ) as bar:
        report = bar.advance if bar.is_enabled else None
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]

            def fetch(oid: str) -> str | None:
                final = cache.object_path(oid)
                try:
                    with remote.open_object(oid) as stream:
                        temp, _, size = copying.write_temp(
                            stream, final, expected_md5=oid, report=report
                        )
                except FileNotFoundError:
                    problems.append(problem(oid, owner[oid], "missing on the remote", users))
                    return None
                except copying.CorruptObjectError:
                    problems.append(problem(oid, owner[oid], "corrupt", users))
                    return None
                except OSError as exc:
                    raise remote.error(f"could not send object {oid}", exc) from exc
                sizes[oid] = size
                bar.advance(files=1)
                return temp

            staged = in_parallel(fetch, batch, workers)
            temps = [temp for temp in staged if temp is not None]
            copying.make_durable(temps)
            for oid, temp in zip(batch, staged, strict=True):
                if temp is not None:
                    copying.place(temp, cache.object_path(oid))
            fetched += len(temps)
    return fetched, sum(sizes.values())


def _total_size(remote: "RemoteStore", todo: list[str]) -> int:
    """The bytes to pull, for the progress bar: stat'ed on a local remote, else unknown (0)."""
    if not remote.is_local or len(todo) > 100_000:
        return 0
    return sum(remote.size_of(oid) for oid in todo)


def _restore(
    cache: Cache,
    uses: Sequence["ArtifactUse"],
    root: Path,
    force: bool,
    users: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    problems: list[ObjectProblem],
) -> list[str]:
    """Check out each input at its recorded path; returns the paths written."""
    from cmf_core.hashing import hash_path

    restored: list[str] = []
    seen: set[str] = set()
    bad = {p.digest for p in problems}
    for use in uses:
        if use.path in seen or use.digest in bad:
            continue
        seen.add(use.path)
        target = root / use.path
        if os.path.lexists(target):
            try:
                same = hash_path(target, progress=False).digest == use.digest
            except ArtifactError:
                same = False
            if same:
                continue
            if not force:
                problems.append(
                    ObjectProblem(
                        oid=oid_of(use.digest),
                        digest=use.digest,
                        reason="modified in the workspace (left as it is)",
                        paths=(use.path,),
                        executions=(use.execution_id,),
                    )
                )
                continue
        cache.checkout(use.digest, target)
        restored.append(use.path)
    return restored


__all__ = ["pull_artifacts"]
