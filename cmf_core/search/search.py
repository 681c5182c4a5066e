"""Search executions and artifacts: filters, sorting and opaque cursor pagination.

::

    page = search_executions(store, "metrics.accuracy >= 0.9 and params.lr < 0.01",
                             sort="-metrics.accuracy", limit=20)
    while page.has_more:
        page = search_executions(store, "metrics.accuracy >= 0.9 and params.lr < 0.01",
                                 sort="-metrics.accuracy", limit=20, cursor=page.next_cursor)

The filter language is described in :mod:`cmf_core.search.filters`. Keyword filters
(``pipeline=``, ``status=``, …) are and-ed with it. A cursor is opaque text:
the sort key and tie-break (id or digest) of the last row shown, and a hash of
the search, so it continues only the search that made it. Pages are keyset
pages: rows inserted meanwhile never shift a page or repeat a row.
"""

import hashlib
import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from cmf_core.digest import is_empty_prefix
from cmf_core.errors import InvalidInputError, Kind
from cmf_core.records import Artifact, ArtifactType, Execution, ExecutionStatus, Record
from cmf_core.search.cursor import decode_cursor, encode_cursor
from cmf_core.search.filters import (
    LOGGED_IN_PIPELINE,
    Compare,
    Field,
    Match,
    Node,
    Operator,
    Sort,
    Target,
    Value,
    all_of,
    glob_to_like,
    normalise_prefix,
    parse_filter,
    parse_moment,
    parse_sort,
)

if TYPE_CHECKING:
    from cmf_core.store import Store

MAX_LIMIT = 1000
TIME_SORTS = {"started_at", "ended_at", "created_at"}
NEVER_NULL_SORTS = {"started_at", "created_at"}
INTEGER_SORTS = {"size", "nfiles"}


class ExecutionPage(Record):
    """One page of executions; pass ``next_cursor`` back to get the next one.

    ``total`` counts every match when there are fewer than :data:`COUNT_CAP`;
    otherwise it is None and ``total_at_least`` is :data:`COUNT_CAP`.
    """

    items: list[Execution]
    next_cursor: str | None
    has_more: bool
    total: int | None = None
    total_at_least: int | None = None


class ArtifactHit(Record):
    """An artifact found by a search, with where it was seen and what produced it."""

    artifact: Artifact
    path: str | None  # the path it was last logged under
    produced_by: str | None  # the id of the execution that last wrote it, if any
    pipeline: str | None  # that execution's pipeline
    stage: str | None  # and stage


class ArtifactPage(Record):
    """One page of artifacts; pass ``next_cursor`` back to get the next one (``total`` and
    ``total_at_least`` as in :class:`ExecutionPage`)."""

    items: list[ArtifactHit]
    next_cursor: str | None
    has_more: bool
    total: int | None = None
    total_at_least: int | None = None


def search_executions(
    store: "Store",
    where: str | None = None,
    *,
    pipeline: str | None = None,
    stage: str | None = None,
    status: ExecutionStatus | str | None = None,
    site: str | None = None,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    git_commit: str | None = None,
    sort: str = "-started_at",
    limit: int = 50,
    cursor: str | None = None,
) -> ExecutionPage:
    """Executions matching ``where`` (the filter language) and the keyword filters.

    ``since`` / ``until`` bound ``started_at``: an ISO date or an aware datetime
    (naive means UTC); a date ``until`` includes that whole day. ``git_commit``
    is a prefix of the start commit. ``sort`` is ``started_at``, ``ended_at``,
    ``metrics.<name>`` or ``params.<name>`` (numbers only), ``-`` for
    descending; rows lacking the key come last; ties go by id.
    """
    text = _filter_text(where)
    nodes: list[Node] = [parse_filter(text, "executions")] if text else []
    for name, value in (("pipeline", pipeline), ("stage", stage), ("site", site)):
        if value is not None:
            nodes.append(Compare(Field(name), "=", _text(name, value)))
    if status is not None:
        nodes.append(Compare(Field("status"), "=", _status(status)))
    if git_commit is not None:
        nodes.append(Compare(Field("git_commit"), "=", _prefix("git_commit", git_commit)))
    if since is not None:
        nodes.append(Compare(Field("started_at"), ">=", _moment("since", since)))
    if until is not None:
        moment = _moment("until", until)
        op: Operator = "<" if isinstance(moment, datetime) else "<="
        nodes.append(Compare(Field("started_at"), op, moment))
    where_node, order = all_of(nodes), parse_sort(sort, "executions")
    token = _search_hash("executions", where_node, order)
    after = _decode(cursor, token, order) if cursor is not None else None
    found = store.search_executions(where_node, sort=order, limit=_limit(limit) + 1, after=after)
    more = len(found) > limit
    last = found[limit - 1] if more else None
    return ExecutionPage(
        items=[f.execution for f in found[:limit]],
        next_cursor=_encode(token, last.key, last.execution.id) if last else None,
        has_more=more,
        **_totals(store, "executions", where_node, len(found), more, after),
    )


COUNT_CAP = 1_000  # matches counted at most; beyond, a listing says "at least"


def _totals(
    store: "Store", table: str, where: Node | None, found: int, more: bool, after: object
) -> dict[str, int | None]:
    """``total`` (or ``total_at_least``) of a search; a first page with nothing more has
    counted its matches already, exactly."""
    if after is None and not more:
        return {"total": found, "total_at_least": None}
    counted = store.count_matches(table, where, cap=COUNT_CAP)
    if counted >= COUNT_CAP:
        return {"total": None, "total_at_least": COUNT_CAP}
    return {"total": counted, "total_at_least": None}


def search_artifacts(
    store: "Store",
    where: str | None = None,
    *,
    type: ArtifactType | str | None = None,
    path: str | None = None,
    digest_prefix: str | None = None,
    min_size: int | None = None,
    max_size: int | None = None,
    produced_by_stage: str | None = None,
    pipeline: str | None = None,
    sort: str = "-created_at",
    limit: int = 50,
    cursor: str | None = None,
) -> ArtifactPage:
    """Artifacts matching ``where`` (the filter language) and the keyword filters.

    ``path`` is a glob (``data/*.csv``; ``*`` crosses ``/``) matched against
    every path the artifact was logged under; ``min_size`` / ``max_size`` are
    inclusive byte counts; ``produced_by_stage`` names the stage of an
    execution that wrote it; ``pipeline`` keeps artifacts some execution of
    that pipeline read or wrote. ``sort`` is ``created_at``, ``size`` or
    ``nfiles``, ``-`` for descending; ties go by digest.
    """
    text = _filter_text(where)
    nodes: list[Node] = [parse_filter(text, "artifacts")] if text else []
    if type is not None:
        nodes.append(Compare(Field("type"), "=", _artifact_type(type)))
    if path is not None:
        nodes.append(Match(Field("path"), glob_to_like(_text("path", path))))
    if digest_prefix is not None:
        nodes.append(Compare(Field("digest"), "=", _prefix("digest", digest_prefix)))
    if min_size is not None:
        nodes.append(Compare(Field("size"), ">=", _size("min_size", min_size)))
    if max_size is not None:
        nodes.append(Compare(Field("size"), "<=", _size("max_size", max_size)))
    if produced_by_stage is not None:
        nodes.append(Compare(Field("stage"), "=", _text("produced_by_stage", produced_by_stage)))
    if pipeline is not None:
        nodes.append(Compare(Field(LOGGED_IN_PIPELINE), "=", _text("pipeline", pipeline)))
    where_node, order = all_of(nodes), parse_sort(sort, "artifacts")
    token = _search_hash("artifacts", where_node, order)
    after = _decode(cursor, token, order) if cursor is not None else None
    found = store.search_artifacts(where_node, sort=order, limit=_limit(limit) + 1, after=after)
    more = len(found) > limit
    last = found[limit - 1] if more else None
    return ArtifactPage(
        items=[
            ArtifactHit(
                artifact=f.artifact,
                path=f.path,
                produced_by=f.produced_by,
                pipeline=f.pipeline,
                stage=f.stage,
            )
            for f in found[:limit]
        ],
        next_cursor=_encode(token, last.key, last.artifact.digest) if last else None,
        has_more=more,
        **_totals(store, "artifacts", where_node, len(found), more, after),
    )


# -- arguments ---------------------------------------------------------------------------------


def _filter_text(where: str | None) -> str | None:
    """The filter to parse; None or blank text is no filter."""
    if where is not None and not isinstance(where, str):
        raise InvalidInputError(f"A filter is text, not {where!r}.")
    return where if where and where.strip() else None


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}; "
            "page through more with the cursor."
        )
    return limit


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{name} must be non-empty text, not {value!r}.")
    return value


def _prefix(name: str, value: Any) -> str:
    prefix = normalise_prefix(name, _text(name, value))
    if is_empty_prefix(prefix):
        raise InvalidInputError(f"{name} needs at least the first characters of one.")
    return prefix


def _status(value: ExecutionStatus | str) -> str:
    try:
        return ExecutionStatus(value).value
    except ValueError:
        choices = ", ".join(s.value for s in ExecutionStatus)
        raise InvalidInputError(f"status is one of {choices}; not {value!r}.") from None


def _artifact_type(value: ArtifactType | str) -> str:
    try:
        return ArtifactType(value).value
    except ValueError:
        choices = ", ".join(t.value for t in ArtifactType)
        raise InvalidInputError(f"type is one of {choices}; not {value!r}.") from None


def _size(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidInputError(f"{name} is a number of bytes (0 or more), not {value!r}.")
    return value


def _moment(name: str, value: datetime | date | str) -> Value:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_moment(value.strip())
    raise InvalidInputError(f"{name} is a date, a datetime or ISO text, not {value!r}.")


# -- cursors -----------------------------------------------------------------------------------


def _search_hash(target: Target, where: Node | None, sort: Sort) -> str:
    """What a cursor must match: the target, the whole filter tree and the sort."""
    text = repr((target, where, sort))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode(token: str, key: Any, tie: str) -> str:
    if isinstance(key, datetime):
        key = key.isoformat()
    return encode_cursor(token, [key, tie])


def _decode(cursor: str, token: str, sort: Sort) -> tuple[Any, str]:
    """(sort key, tie-break) of the last row a cursor saw, if it belongs to this search."""
    position = decode_cursor(cursor, token)
    if not (isinstance(position, list) and len(position) == 2 and isinstance(position[1], str)):
        raise InvalidInputError(
            f"{cursor[:40]!r} is not a cursor from a cmf search; pass the next_cursor of the "
            "previous page unchanged, or leave the cursor out to start from the first page.",
            kind=Kind.CURSOR,
        )
    key, tie = position
    return _sort_key(key, sort), tie


def _sort_key(key: Any, sort: Sort) -> Any:
    """A decoded sort key checked against what ``sort`` can hold, so nothing odd reaches SQL."""
    invalid = InvalidInputError(
        "This cursor is not valid for this query; start without --cursor (leave the cursor "
        "out) to get the first page. Its position does not fit the sort "
        f"{'-' if sort.descending else ''}{sort.field}."
    )
    name = sort.field.name
    if key is None:
        if name in NEVER_NULL_SORTS:
            raise invalid
        return None
    try:
        if name in TIME_SORTS:
            if not isinstance(key, str):
                raise TypeError(key)
            moment = datetime.fromisoformat(key)
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError(key)
            return moment.astimezone(UTC)
        if isinstance(key, bool) or not isinstance(key, int | float):
            raise TypeError(key)
        if isinstance(key, float) and not math.isfinite(key):
            raise ValueError(key)
        if isinstance(key, int) and abs(key) >= 2**63:
            raise ValueError(key)
        if name in INTEGER_SORTS and not isinstance(key, int):
            raise TypeError(key)
    except (ValueError, TypeError, OverflowError):
        raise invalid from None
    return key


__all__ = [
    "ArtifactHit",
    "ArtifactPage",
    "ExecutionPage",
    "search_artifacts",
    "search_executions",
]
