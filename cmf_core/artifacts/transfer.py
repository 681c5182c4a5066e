"""Push and pull artifact bytes between the cache and a remote: only what the other side lacks.

::

    push_artifacts(store, cache, remote)  # .push: everything the store names
    push_artifacts(store, cache, remote, pipeline="fraud")
    pull_artifacts(store, cache, remote, executions=["0190…"], restore_to=root)  # .pull

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

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal

from cmf_core.artifacts import copying
from cmf_core.artifacts.layout import digest_of, oid_of
from cmf_core.errors import ArtifactError, NotFoundError
from cmf_core.records import EventDirection, Record

if TYPE_CHECKING:
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


def users_of(uses: Sequence["ArtifactUse"]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """digest → (paths, executions), each in first-seen order."""
    paths: dict[str, dict[str, None]] = defaultdict(dict)
    runs: dict[str, dict[str, None]] = defaultdict(dict)
    for use in uses:
        paths[use.digest][use.path] = None
        runs[use.digest][use.execution_id] = None
    return {d: (tuple(paths[d]), tuple(runs[d])) for d in paths}


def problem(
    oid: str, digest: str, reason: Reason, users: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
) -> ObjectProblem:
    paths, runs = users.get(digest, ((), ()))
    return ObjectProblem(oid=oid, digest=digest, reason=reason, paths=paths, executions=runs)


def in_parallel(
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


__all__ = [
    "IncompleteTransferError",
    "ObjectProblem",
    "TransferReport",
    "in_parallel",
    "problem",
    "select_uses",
    "users_of",
]
