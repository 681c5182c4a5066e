"""Stale runs: executions recorded as ``running`` whose process is gone.

Staleness is computed when asked, never written. A running execution is stale when

- it was recorded on this host and its process (the pid recorded at its start) is no
  longer alive — or the pid now belongs to a process started after the run; or
- it was recorded elsewhere (or by a cmf that recorded no pid) and its last sign of
  life — the heartbeat, else the start — is older than ``stale_after`` (the
  ``stale_after`` setting, 15 minutes by default).

The pid is the process that records the run: the training script for the Python API,
``cmf`` itself for ``cmf run`` (it watches the command and records its end; if cmf is
gone nobody will), and the MCP server for runs started through its tools (a later
server may still attach to such a run and end it). :func:`close_stale` ends stale runs
``failed`` through the store's normal end path, so history and the sync journal see it.
"""

import os
import socket
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cmf_core.duration import format_duration
from cmf_core.errors import ConflictError
from cmf_core.records import Record
from cmf_core.vocabulary import ExecutionStatus

if TYPE_CHECKING:
    from cmf_core.records import Execution
    from cmf_core.store import Store
    from cmf_core.store.liveness import Liveness

STALE_AFTER = timedelta(minutes=15)


class StaleRun(Record):
    """A running execution whose process is gone, and how that is known."""

    execution_id: str
    host: str | None
    pid: int | None
    last_seen: datetime
    reason: str


def process_gone(pid: int, started_at: datetime) -> bool:
    """Whether the process ``pid`` of this host, recording since ``started_at``, is gone.

    A pid that is alive but belongs to a process started after ``started_at`` (the pid
    was reused) or to a zombie counts as gone; when that cannot be told, it is alive.
    """
    if pid == os.getpid():
        return False
    if os.name != "nt":  # signal 0 is CTRL_C_EVENT on Windows: never send it there
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # EPERM: alive, another user's
            pass
    try:  # psutil (when installed) tells a zombie or a reused pid from the run's process
        import psutil  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - psutil is installed where the suite runs
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        return bool(process.create_time() > started_at.timestamp() + 1.0)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # unknowable (access denied): assume it lives
        return False


def stale_reason(
    liveness: "Liveness",
    *,
    now: datetime | None = None,
    this_host: str | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> str | None:
    """Why the running execution of ``liveness`` is stale, or None if it may still live."""
    now = now or datetime.now(UTC)
    host = this_host or socket.gethostname()
    if liveness.host == host and liveness.pid is not None:
        if process_gone(liveness.pid, liveness.started_at):
            return f"process {liveness.pid} on {host} gone"
        return None
    silent = now - liveness.last_seen
    if silent <= stale_after:
        return None
    where = f" from {liveness.host}" if liveness.host else ""
    what = "heartbeat" if liveness.heartbeat_at else "sign of life since the start"
    return f"no {what}{where} for {format_duration(silent)}"


def find_stale(
    store: "Store",
    execution_ids: Sequence[str] | None = None,
    *,
    stale_after: timedelta = STALE_AFTER,
    older_than: timedelta | None = None,
    now: datetime | None = None,
) -> list[StaleRun]:
    """The stale ones of the running executions among ``execution_ids`` (all when None),
    oldest first; with ``older_than``, only those silent for longer than that."""
    now = now or datetime.now(UTC)
    host = socket.gethostname()
    found = []
    for live in store.liveness(execution_ids):
        if older_than is not None and now - live.last_seen <= older_than:
            continue
        reason = stale_reason(live, now=now, this_host=host, stale_after=stale_after)
        if reason is not None:
            found.append(
                StaleRun(
                    execution_id=live.execution_id,
                    host=live.host,
                    pid=live.pid,
                    last_seen=live.last_seen,
                    reason=reason,
                )
            )
    return found


def stale_ids(
    store: "Store",
    executions: "Iterable[Execution]",
    *,
    stale_after: timedelta = STALE_AFTER,
) -> set[str]:
    """The ids of the stale ones among ``executions`` (one query, for the running ones)."""
    running = [e.id for e in executions if e.status is ExecutionStatus.RUNNING]
    if not running:
        return set()
    return {s.execution_id for s in find_stale(store, running, stale_after=stale_after)}


def stale_detail(
    store: "Store", detail: object, *, stale_after: timedelta = STALE_AFTER
) -> str | None:
    """Why the execution of ``detail`` (an :class:`ExecutionDetail` or any other record) is
    stale, or None when it is not an execution, not running, or not stale."""
    from cmf_core.records import ExecutionDetail

    if not isinstance(detail, ExecutionDetail):
        return None
    execution = detail.execution
    if execution.status is not ExecutionStatus.RUNNING:
        return None
    found = find_stale(store, [execution.id], stale_after=stale_after)
    return found[0].reason if found else None


def close_stale(
    store: "Store",
    *,
    stale_after: timedelta = STALE_AFTER,
    older_than: timedelta | None = None,
    dry_run: bool = False,
) -> list[StaleRun]:
    """End every stale run ``failed`` with the error ``stale: <reason>``; returns the runs
    ended (with ``dry_run``, the runs that would be). A run that ends by itself meanwhile
    is left as it ended."""
    found = find_stale(store, stale_after=stale_after, older_than=older_than)
    if dry_run:
        return found
    closed = []
    for run in found:
        try:
            store.end_execution(
                run.execution_id, status=ExecutionStatus.FAILED, error=f"stale: {run.reason}"
            )
        except ConflictError:  # it ended between the look and the end
            continue
        closed.append(run)
    return closed


__all__ = [
    "STALE_AFTER",
    "StaleRun",
    "close_stale",
    "find_stale",
    "process_gone",
    "stale_detail",
    "stale_ids",
]
