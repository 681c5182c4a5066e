"""Push and pull artifact bytes between the cache and a remote: only what the other side lacks.

::

    push(store, cache, remote)                              # everything the store names
    push(store, cache, remote, pipeline="fraud")
    pull(store, cache, remote, executions=["0190…"], restore_to=project_root)

Which bytes: the artifacts of the whole store, of one pipeline, or of some
executions (``pull`` with ``restore_to`` and executions restores exactly the
*inputs* those executions read, to the paths they read them at: the
reproduce path). A directory is its ``.dir`` manifest and its files; files go
first and the manifest last, on both sides, so a manifest present means its
files are too (DVC orders them the same way).

Transfers run ``jobs`` objects at a time with a progress bar of files and
bytes (on a terminal only). Each object is written under a temporary name and
renamed once whole and durable (:mod:`cmf_core.artifacts.copying`), so a
killed transfer leaves no partial object and a rerun sends only the rest.
Everything pulled is verified against its md5 in the same read pass; a
corrupt object is not placed. Objects that cannot be sent — missing on the
remote, corrupt, absent from the cache — do not stop the others: the call
ends with :class:`IncompleteTransferError`, naming each one's artifact, paths
and the executions that use it. Faults that stop everything (remote
unreachable, permission denied, disk full) raise ArtifactError at once.
"""

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cmf_core.artifacts import copying
from cmf_core.artifacts.cache import BATCH, Cache
from cmf_core.artifacts.layout import digest_of, oid_of, parse_manifest
from cmf_core.errors import ArtifactError, NotFoundError
from cmf_core.progress import HashProgress
from cmf_core.records import EventDirection, Record

if TYPE_CHECKING:
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.store import Store
    from cmf_core.store.artifact_reads import ArtifactUse

LOCAL_JOBS = 8
SHOWN_PROBLEMS = 10
Reason = Literal[
    "missing on the remote",
    "corrupt",
    "not in the cache",
    "modified in the workspace (left as it is)",
]


class ObjectProblem(Record):
    """An object that could not be transferred, with who needs it."""

    oid: str
    digest: str  # the artifact it belongs to (itself, or the directory holding it)
    reason: Reason
    paths: tuple[str, ...]
    executions: tuple[str, ...]

    def sentence(self) -> str:
        part = "" if oid_of(self.digest) == self.oid else f" (a file of {self.digest})"
        who = ", ".join(e[:13] for e in self.executions[:3])
        more = f" and {len(self.executions) - 3} more" if len(self.executions) > 3 else ""
        paths = ", ".join(self.paths[:3])
        return (
            f"{digest_of(self.oid)}{part} at {paths} is {self.reason}; "
            f"used by execution(s) {who}{more}"
        )


class TransferReport(Record):
    direction: Literal["push", "pull"]
    remote: str
    artifacts: int
    objects: int  # transferred now
    bytes: int
    already: int  # objects the other side had
    restored: tuple[str, ...] = ()
    problems: tuple[ObjectProblem, ...] = ()


class IncompleteTransferError(ArtifactError):
    """Some objects could not be transferred; the rest were. ``report`` says which."""

    def __init__(self, report: TransferReport) -> None:
        lines = [p.sentence() for p in report.problems[:SHOWN_PROBLEMS]]
        more = len(report.problems) - len(lines)
        verb = "pushed to" if report.direction == "push" else "pulled from"
        super().__init__(
            f"{report.objects} object(s) {verb} remote {report.remote!r}, but "
            f"{len(report.problems)} could not be: "
            + "; ".join(lines)
            + (f"; and {more} more." if more else ".")
        )
        self.report = report


def select_uses(
    store: "Store",
    *,
    pipeline: str | None = None,
    executions: Sequence[str] | None = None,
    inputs_only: bool = False,
) -> list["ArtifactUse"]:
    """The events whose artifacts a transfer covers (see the module docstring)."""
    from cmf_core.store.artifact_reads import artifact_uses

    if pipeline is not None and pipeline not in {p.name for p in store.list_pipelines()}:
        raise NotFoundError(f"No pipeline named {pipeline!r} in this store.")
    ids = [e.id for e in store.get_executions(list(executions))] if executions else None
    direction = EventDirection.INPUT if inputs_only else None
    return [
        use
        for use in artifact_uses(store, pipeline=pipeline, execution_ids=ids, direction=direction)
        if use.type.value != "environment"
    ]


def _users(uses: Sequence["ArtifactUse"]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """digest → (paths, executions), each in first-seen order."""
    paths: dict[str, dict[str, None]] = defaultdict(dict)
    runs: dict[str, dict[str, None]] = defaultdict(dict)
    for use in uses:
        paths[use.digest][use.path] = None
        runs[use.digest][use.execution_id] = None
    return {d: (tuple(paths[d]), tuple(runs[d])) for d in paths}


def _problem(
    oid: str, digest: str, reason: Reason, users: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
) -> ObjectProblem:
    paths, runs = users.get(digest, ((), ()))
    return ObjectProblem(oid=oid, digest=digest, reason=reason, paths=paths, executions=runs)


# -- push --------------------------------------------------------------------------------------


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
    users = _users(uses)
    problems: list[ObjectProblem] = []
    files: dict[str, str] = {}  # oid → the artifact it belongs to
    manifests: dict[str, list[str]] = {}  # manifest oid → its file oids
    for digest in users:
        oid = oid_of(digest)
        if not cache.has_object(oid):
            problems.append(_problem(oid, digest, "not in the cache", users))
        elif oid.endswith(".dir"):
            members = cache.object_ids(digest)[1:]
            manifests[oid] = members
            for member in members:
                files.setdefault(member, digest)
        else:
            files.setdefault(oid, digest)
    for oid, digest in list(files.items()):
        if not cache.has_object(oid):
            problems.append(_problem(oid, digest, "not in the cache", users))
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
                    problems.append(_problem(oid, owner[oid], "corrupt", users))
                    failed.add(oid)
                    return None
                bar.advance(files=1)
                return temp

            staged = _in_parallel(send, batch, workers)
            temps = [temp for temp in staged if temp is not None]
            if remote.is_local:
                copying.make_durable(temps)
                for oid, temp in zip(batch, staged, strict=True):
                    if temp is not None:
                        remote.place_local(temp, oid)
            sent += len(batch) - len([o for o in batch if o in failed])
    return sent, failed


def _in_parallel(
    action: Callable[[str], str | None], items: list[str], workers: int
) -> list[str | None]:
    """``action`` of each item in ``workers`` threads; on a fatal error, temporaries are removed."""
    if workers <= 1 or len(items) <= 1:
        results: list[str | None] = []
        try:
            for item in items:
                results.append(action(item))
        except BaseException:
            copying.discard([r for r in results if r is not None])
            raise
        return results
    with ThreadPoolExecutor(min(workers, len(items)), thread_name_prefix="cmf-transfer") as pool:
        futures = [pool.submit(action, item) for item in items]
        done: list[str | None] = []
        error: BaseException | None = None
        for future in futures:
            try:
                done.append(future.result())
            except BaseException as exc:  # re-raised below, once the temporaries are gone
                error = error or exc
                done.append(None)
        if error is not None:
            copying.discard([r for r in done if r is not None])
            raise error
    return done


# -- pull --------------------------------------------------------------------------------------


def pull(
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
    users = _users(uses)
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
        problems.append(_problem(oid, digest, "missing on the remote", users))
        return None
    if hashlib.md5(data, usedforsecurity=False).hexdigest() != oid.removesuffix(".dir"):
        problems.append(_problem(oid, digest, "corrupt", users))
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
                    problems.append(_problem(oid, owner[oid], "missing on the remote", users))
                    return None
                except copying.CorruptObjectError:
                    problems.append(_problem(oid, owner[oid], "corrupt", users))
                    return None
                except OSError as exc:
                    raise remote.error(f"could not send object {oid}", exc) from exc
                sizes[oid] = size
                bar.advance(files=1)
                return temp

            staged = _in_parallel(fetch, batch, workers)
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


__all__ = [
    "IncompleteTransferError",
    "ObjectProblem",
    "TransferReport",
    "pull",
    "push",
    "select_uses",
]
