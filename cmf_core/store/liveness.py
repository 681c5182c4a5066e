"""Store reads and writes for run liveness: where a running execution's process lives.

An execution records, at its start, the host name and pid of the process that records
it; a long-lived process may say it is still there with :meth:`LivenessRecords.heartbeat`.
Nothing here decides whether a run is stale: that is computed, never written
(:mod:`cmf_core.stale`). The heartbeat is not part of the execution's record (it is
never synced or journalled: it says something about one machine, for a while).
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from cmf_core.records import Record
from cmf_core.store.base import StoreBase
from cmf_core.store.chunks import chunks
from cmf_core.store.schema import executions, utcnow
from cmf_core.vocabulary import ExecutionStatus


class Liveness(Record):
    """Where a running execution's recording process lives, and its last sign of life."""

    execution_id: str
    host: str | None
    pid: int | None
    started_at: datetime
    heartbeat_at: datetime | None

    @property
    def last_seen(self) -> datetime:
        """The heartbeat, else the start: the last time the process said it was there."""
        return self.heartbeat_at or self.started_at


class LivenessRecords(StoreBase):
    """Heartbeats and liveness reads, mixed into :class:`cmf_core.store.Store`."""

    def heartbeat(self, execution_ids: Sequence[str]) -> int:
        """Mark the running ones of ``execution_ids`` as alive now (one UPDATE per batch of
        ids); ended executions are left as they are. Returns how many were marked."""
        ids = list(dict.fromkeys(execution_ids))
        if not ids:
            return 0
        now = utcnow()
        marked = 0
        with self._write() as conn:
            for batch in chunks(ids):
                result = conn.execute(
                    update(executions)
                    .where(
                        executions.c.id.in_(batch),
                        executions.c.status == ExecutionStatus.RUNNING.value,
                    )
                    .values(heartbeat_at=now)
                )
                marked += result.rowcount
        return marked

    def liveness(self, execution_ids: Sequence[str] | None = None) -> list[Liveness]:
        """The liveness of the running executions among ``execution_ids`` (all running ones
        when None), oldest start first."""
        columns = (
            executions.c.id,
            executions.c.host,
            executions.c.pid,
            executions.c.started_at,
            executions.c.heartbeat_at,
        )
        running = executions.c.status == ExecutionStatus.RUNNING.value
        order = (executions.c.started_at, executions.c.id)
        with self._read() as conn:
            if execution_ids is None:
                rows = list(conn.execute(select(*columns).where(running).order_by(*order)))
            else:
                rows = []
                for batch in chunks(list(dict.fromkeys(execution_ids))):
                    query = select(*columns).where(running, executions.c.id.in_(batch))
                    rows.extend(conn.execute(query))
                rows.sort(key=lambda r: (r.started_at, r.id))
        return [
            Liveness(
                execution_id=r.id,
                host=r.host,
                pid=r.pid,
                started_at=r.started_at,
                heartbeat_at=r.heartbeat_at,
            )
            for r in rows
        ]


__all__ = ["Liveness", "LivenessRecords"]
