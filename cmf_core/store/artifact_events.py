"""One page of an artifact's events, with bounded counts and its distinct paths.

An artifact read by a million runs (the raw dataset every training run starts
from) must not cost a million rows to show. A page lists the producing events
first, then the reading ones, each oldest first, and is read along the
``(artifact_id, direction, created_at)`` index with a limit, so it costs the
same whatever the store holds. Each direction is counted up to
:data:`EVENT_COUNT_CAP` (a count at the cap means at least that many). The
distinct paths come from a loose index scan of ``(artifact_id, path)`` (one
index probe per path), at most :data:`PATHS_SHOWN` of them.
"""

from sqlalchemy import Connection, bindparam, func, select, text

from cmf_core.records import EVENT_COUNT_CAP, ArtifactDetail, Event, EventDirection
from cmf_core.store.schema import events

PATHS_SHOWN = 100

# Each step asks the (artifact_id, path) index for the next path after the last one.
_DISTINCT_PATHS = text(
    """
    WITH RECURSIVE seen(path) AS (
        SELECT MIN(path) FROM events WHERE artifact_id = :artifact
        UNION ALL
        SELECT (
            SELECT MIN(e.path) FROM events e
            WHERE e.artifact_id = :artifact AND e.path > seen.path
        )
        FROM seen WHERE seen.path IS NOT NULL
    )
    SELECT path FROM seen WHERE path IS NOT NULL LIMIT :most
    """
).bindparams(bindparam("artifact"), bindparam("most"))


def count_events(conn: Connection, artifact_id: int, direction: EventDirection) -> int:
    """Events of one direction, counted up to :data:`EVENT_COUNT_CAP`."""
    # Only indexed columns, so the count reads the index alone: selecting execution_id made
    # SQLite visit every event's row (15,466 readers of a 1M store: 44 ms, this way 1 ms).
    bounded = (
        select(events.c.artifact_id)
        .where(events.c.artifact_id == artifact_id, events.c.direction == direction.value)
        .limit(EVENT_COUNT_CAP)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(bounded)).scalar_one())


def events_of(
    conn: Connection,
    artifact_id: int,
    digest: str,
    direction: EventDirection,
    *,
    offset: int,
    limit: int,
) -> list[Event]:
    """Events of one direction, oldest first, from ``offset``, at most ``limit``."""
    if limit <= 0:
        return []
    query = (
        select(events.c.execution_id, events.c.path, events.c.created_at)
        .where(events.c.artifact_id == artifact_id, events.c.direction == direction.value)
        .order_by(events.c.created_at, events.c.execution_id, events.c.path)
        .offset(offset)
        .limit(limit)
    )
    return [
        Event(
            execution_id=row.execution_id,
            digest=digest,
            direction=direction,
            path=row.path,
            created_at=row.created_at,
        )
        for row in conn.execute(query)
    ]


def distinct_paths(conn: Connection, artifact_id: int, most: int = PATHS_SHOWN) -> list[str]:
    """The artifact's distinct recorded paths, in order, at most ``most``."""
    return list(conn.execute(_DISTINCT_PATHS, {"artifact": artifact_id, "most": most}).scalars())


def events_page(
    conn: Connection, detail: ArtifactDetail, artifact_id: int, *, offset: int, limit: int
) -> ArtifactDetail:
    """``detail`` (its artifact) with one page of events: producers first, then readers."""
    digest = detail.artifact.digest
    producers = count_events(conn, artifact_id, EventDirection.OUTPUT)
    consumers = count_events(conn, artifact_id, EventDirection.INPUT)
    made = events_of(conn, artifact_id, digest, EventDirection.OUTPUT, offset=offset, limit=limit)
    read = events_of(
        conn,
        artifact_id,
        digest,
        EventDirection.INPUT,
        offset=max(offset - producers, 0),
        limit=limit - len(made),
    )
    return detail.model_copy(
        update={
            "events": [*made, *read],
            "events_offset": offset,
            "producers_total": producers,
            "consumers_total": consumers,
            "paths": distinct_paths(conn, artifact_id),
        }
    )


__all__ = ["EVENT_COUNT_CAP", "PATHS_SHOWN", "count_events", "distinct_paths", "events_page"]
