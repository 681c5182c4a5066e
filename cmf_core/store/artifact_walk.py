"""The artifact-to-artifact walk of cmflib's lineage queries (parents, children, one hop
or all), breadth first.

Upstream, one hop goes from an artifact to the inputs of the executions that
wrote it; downstream, to the outputs of those that read it. One query per hop,
with a visited set, so diamonds and cycles in corrupt data cost linear time.
The lineage graph of :mod:`cmf_core.graph` walks executions and artifacts
together through :mod:`cmf_core.store.graph` instead.
"""

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import Connection, select

from cmf_core.store.base import StoreBase
from cmf_core.store.chunks import chunks
from cmf_core.store.schema import artifacts, events, executions, stages


class ArtifactWalk(StoreBase):
    """The artifact walk, mixed into :class:`cmf_core.store.Store`."""

    def artifact_hops(
        self,
        digests: Iterable[str],
        *,
        direction: Literal["upstream", "downstream"],
        max_hops: int | None = None,
        pipeline_id: int | None = None,
    ) -> list[list[str]]:
        """Breadth-first artifact-to-artifact walk: the digests first reached at each hop.

        Upstream, one hop goes from an artifact to the inputs of the executions that
        wrote it; downstream, to the outputs of those that read it. One query per hop;
        each artifact is visited once (the start digests count as visited).
        """
        first, then = ("output", "input") if direction == "upstream" else ("input", "output")
        near, far = events.alias("near"), events.alias("far")
        step = (
            select(far.c.artifact_id)
            .distinct()
            .join(near, near.c.execution_id == far.c.execution_id)
            .where(near.c.direction == first, far.c.direction == then)
        )
        if pipeline_id is not None:
            step = (
                step.join(executions, executions.c.id == near.c.execution_id)
                .join(stages, stages.c.id == executions.c.stage_id)
                .where(stages.c.pipeline_id == pipeline_id)
            )
        hops: list[list[int]] = []
        with self._read() as conn:
            frontier = _artifact_ids(conn, digests)
            visited = set(frontier)
            while frontier and (max_hops is None or len(hops) < max_hops):
                reached: set[int] = set()
                for chunk in chunks(frontier):
                    reached.update(
                        conn.execute(step.where(near.c.artifact_id.in_(chunk))).scalars()
                    )
                frontier = sorted(reached - visited)
                visited.update(frontier)
                if frontier:
                    hops.append(frontier)
            names = _digests_of(conn, visited)
        return [[names[i] for i in hop] for hop in hops]


def _artifact_ids(conn: Connection, digests: Iterable[str]) -> list[int]:
    found: list[int] = []
    for chunk in chunks(sorted(set(digests))):
        found.extend(conn.scalars(select(artifacts.c.id).where(artifacts.c.digest.in_(chunk))))
    return sorted(found)


def _digests_of(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in chunks(sorted(ids)):
        query = select(artifacts.c.id, artifacts.c.digest).where(artifacts.c.id.in_(chunk))
        found.update({i: d for i, d in conn.execute(query)})
    return found
