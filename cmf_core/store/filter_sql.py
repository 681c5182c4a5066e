"""Filter trees (:mod:`cmf_core.search.tree`) and sort fields as bound SQL.

Every value from a filter reaches the database as a bound parameter; the SQL
text depends only on the tree's shape. Each condition is two-valued (a missing
value makes it false, never NULL), so ``NOT`` is the exact complement on both
backends. A JSON key (``params.lr``) is compared by the literal's type —
``json_type`` + ``json_extract`` on SQLite, one ``jsonb_path_exists`` filter
with the value in its ``vars`` on PostgreSQL — so no cast can fail on a value
of another type. A metric condition is an ``EXISTS`` on the execution-level
row, found through the unique (execution, name) index. A label condition is an
``EXISTS`` on the record's newest annotation of that key (none later with the same key).

:class:`FilterCompiler` also says how to order by a sort field (an
:class:`Order`), which :mod:`cmf_core.store.search` pages through.
"""

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH

from cmf_core.errors import InvalidInputError
from cmf_core.records import EventDirection
from cmf_core.search.filters import (
    LOGGED_IN_PIPELINE,
    And,
    Compare,
    Field,
    In,
    IsNull,
    Node,
    Not,
    Or,
    Value,
)
from cmf_core.store.param_index import param_number
from cmf_core.store.schema import (
    annotations,
    artifacts,
    events,
    execution_params,
    executions,
    metrics,
    pipelines,
    stages,
)

Predicate = ColumnElement[bool]
Build = Callable[[ColumnElement[Any]], Predicate]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_EXECUTION_COLUMNS: dict[str, tuple[ColumnElement[Any], bool]] = {
    # name: (column, nullable)
    "id": (executions.c.id, False),
    "pipeline": (pipelines.c.name, False),
    "stage": (stages.c.name, False),
    "status": (executions.c.status, False),
    "site": (executions.c.site, True),
    "started_at": (executions.c.started_at, False),
    "ended_at": (executions.c.ended_at, True),
    "git_commit": (executions.c.git_commit_start, True),
    "git_branch": (executions.c.git_branch, True),
    "command": (executions.c.command, True),
    "error": (executions.c.error, True),
}
_ARTIFACT_COLUMNS: dict[str, tuple[ColumnElement[Any], bool]] = {
    "digest": (artifacts.c.digest, False),
    "type": (artifacts.c.type, False),
    "size": (artifacts.c.size, True),
    "nfiles": (artifacts.c.nfiles, True),
    "created_at": (artifacts.c.created_at, False),
}
_PREFIX_FIELDS = {"id", "git_commit", "digest"}
_WALKED = {"status", "stage", "pipeline"}  # see FilterCompiler.walked
_TOP = "\U0010ffff"  # sorts after every character: [p, p + _TOP) is "starts with p"


@dataclass(frozen=True, slots=True)
class Order:
    """How to sort: ``key`` is present where ``present`` holds; ``query`` adds any join."""

    key: ColumnElement[Any]
    present: Predicate | None  # None: the key is never missing
    absent: Predicate
    query: Callable[[Select[Any]], Select[Any]]
    bind: Callable[[Any], Any]
    tie: ColumnElement[Any] | None = None  # a column equal to the tie-break to order by


class FilterCompiler:
    """Filter trees and sort fields of one target as SQLAlchemy expressions."""

    def __init__(self, dialect: str, target: str, *, ordered: bool = True) -> None:
        """``ordered``: for a query read in a sort order, a page at a time (not a count)."""
        self.is_postgres = dialect == "postgresql"
        self.walks = ordered and not self.is_postgres and target == "executions"  # .walked
        self.columns = _EXECUTION_COLUMNS if target == "executions" else _ARTIFACT_COLUMNS
        self.owner = executions if target == "executions" else artifacts

    def node(self, node: Node) -> Predicate:
        if isinstance(node, And):
            return and_(*(self.node(item) for item in node.items))
        if isinstance(node, Or):
            return or_(*(self.node(item) for item in node.items))
        if isinstance(node, Not):
            return not_(self.node(node.item))
        if isinstance(node, Compare):
            return self.compare(node.field, node.op, node.value)
        if isinstance(node, In):
            either = or_(*(self.compare(node.field, "=", v) for v in node.values))
            return not_(either) if node.negated else either
        json = self.json(node.field)
        if isinstance(node, IsNull):
            found = json.present() if json else self.leaf(node.field, None)
            return found if node.negated else not_(found)
        pattern = node.pattern
        if json:
            match = json.match(pattern)
        else:
            match = self.leaf(node.field, lambda c: _like(c, pattern, self.is_postgres))
        return not_(match) if node.negated else match

    def compare(self, field: Field, op: str, value: Value) -> Predicate:
        json = self.json(field)
        if json:
            return json.compare(op, value)
        if field.name in _PREFIX_FIELDS and op in ("=", "!=") and isinstance(value, str):

            def starts(c: ColumnElement[Any]) -> Predicate:
                prefix = and_(c >= value, c < value + _TOP)
                return prefix if op == "=" else not_(prefix)

            return self.leaf(field, starts)
        if isinstance(value, date) and not isinstance(value, datetime):
            return self.leaf(field, _day(op, value))
        return self.leaf(field, lambda c: _OPS[op](c, value))

    def json(self, field: Field) -> "_Json | None":
        if field.name not in ("params", "properties"):
            return None
        return _Json(self.owner.c[field.name], str(field.key), self.is_postgres)

    def leaf(self, field: Field, build: Build | None) -> Predicate:
        """``build(column)`` where the field has a value, false where it has none.

        ``build`` None asks only whether the field has a value.
        """
        name = field.name
        if name in self.columns:
            column, nullable = self.columns[name]
            if build is None:
                return column.is_not(None)
            if self.walks and name in _WALKED:
                return self.walked(name, build)
            return and_(column.is_not(None), build(column)) if nullable else build(column)
        if name == "metrics":
            m = metrics.alias()
            conditions = [
                m.c.execution_id == executions.c.id,
                m.c.name == field.key,
                m.c.step.is_(None),
                m.c.value.is_not(None),
            ]
            return exists().where(*conditions, *([build(m.c.value)] if build else []))
        if name == "labels":
            return self.label(str(field.key), build)
        if name == "path":
            e = events.alias()
            return exists().where(
                e.c.artifact_id == artifacts.c.id, *([build(e.c.path)] if build else [])
            )
        # stage / pipeline of a producing execution, or of any that logged it
        e, x, s, p = events.alias(), executions.alias(), stages.alias(), pipelines.alias()
        column = s.c.name if name == "stage" else p.c.name
        conditions = [e.c.artifact_id == artifacts.c.id]
        if name != LOGGED_IN_PIPELINE:
            conditions.append(e.c.direction == EventDirection.OUTPUT.value)
        inner = (
            select(literal(1))
            .select_from(e.join(x, x.c.id == e.c.execution_id))
            .join(s, s.c.id == x.c.stage_id)
            .join(p, p.c.id == s.c.pipeline_id)
            .where(*conditions, *([build(column)] if build else []))
        )
        return exists(inner)

    def walked(self, name: str, build: Build) -> Predicate:
        """A status, stage or pipeline condition SQLite cannot answer from an index: with no
        statistics it takes an equality for a few rows, reads all that match by that index
        and sorts them (5.6 s for the completed runs of 1M). Few matches come from the index
        anyway (store/candidates.py); many are found soonest newest first."""
        if name == "status":
            return build(executions.c.status.concat(""))
        named = select(stages.c.id).join(pipelines, pipelines.c.id == stages.c.pipeline_id)
        column = stages.c.name if name == "stage" else pipelines.c.name
        return (executions.c.stage_id + 0).in_(named.where(build(column)))

    def label(self, key: str, build: Build | None) -> Predicate:
        """The record's newest annotation of ``key`` has a value (that ``build`` accepts)."""
        a, later = annotations.alias(), annotations.alias()
        is_execution = self.owner is executions
        newest = ~exists().where(
            later.c.target_kind == a.c.target_kind,
            later.c.target_key == a.c.target_key,
            later.c.key == a.c.key,
            later.c.uid > a.c.uid,  # newest: the highest uid (store/annotations.py)
        )
        return exists().where(
            a.c.target_kind == ("execution" if is_execution else "artifact"),
            a.c.target_key == (executions.c.id if is_execution else artifacts.c.digest),
            a.c.key == key,
            a.c.value.is_not(None),
            newest,
            *([build(a.c.value)] if build else []),
        )

    def order(self, field: Field) -> Order:
        """The sort key of ``field`` (started_at, a metric, a param, size, …)."""
        if field.name in self.columns:
            column, nullable = self.columns[field.name]
            return Order(
                key=column,
                present=column.is_not(None) if nullable else None,
                absent=column.is_(None),
                query=lambda q: q,
                bind=lambda v: v,
            )
        if field.name == "metrics":
            m = metrics.alias("sort_metric")
            link = and_(
                m.c.execution_id == executions.c.id,
                m.c.name == field.key,
                m.c.step.is_(None),
                m.c.value.is_not(None),
            )
            return Order(
                key=m.c.value,
                present=true(),
                absent=not_(self.leaf(field, None)),
                query=lambda q: q.join(m, link),
                bind=lambda v: v,
                tie=m.c.execution_id,  # = executions.id; lets an index give the whole order
            )
        json = self.json(field)
        assert json is not None
        if field.name == "params":  # along ix_execution_params_number (name, number, id)
            p = execution_params.alias("sort_param")
            on = and_(
                p.c.execution_id == executions.c.id, p.c.name == field.key, p.c.number.is_not(None)
            )
            return Order(
                key=p.c.number,
                present=true(),
                absent=not_(json.is_number()),
                query=lambda q: q.join(p, on),
                bind=lambda v: param_number(v, self.is_postgres),
                tie=p.c.execution_id,
            )
        number = json.is_number()
        return Order(
            key=json.value(), present=number, absent=not_(number), query=lambda q: q, bind=json.bind
        )


class _Json:
    """One top-level key of a JSON column, compared by the literal's JSON type.

    SQLite: ``json_type`` / ``json_extract`` on the path ``$."key"``. PostgreSQL:
    a ``jsonb_path_exists`` filter (type check and comparison in one, so no
    cast can fail, and the planner estimates it sensibly) with the value bound
    in its ``vars``.
    """

    def __init__(self, column: Any, key: str, is_postgres: bool) -> None:
        if '"' in key or "\\" in key:
            raise InvalidInputError(f'A JSON key holds no " or \\: {key!r}.')
        self.column, self.key, self.is_postgres = column, key, is_postgres

    def _path(self, condition: str, value: Any = None) -> Predicate:
        path = f'$ ? (@."{self.key}".type() {condition})'
        arguments = [self.column, cast(literal(path, String), JSONPATH)]
        if value is not None:
            arguments.append(cast(literal(json.dumps({"v": value}), String), JSONB))
        return func.jsonb_path_exists(*arguments)

    def _sqlite_type(self) -> ColumnElement[str]:
        return func.coalesce(func.json_type(self.column, f'$."{self.key}"'), "null")

    def value(self) -> ColumnElement[Any]:
        """The value itself: jsonb on PostgreSQL, an SQL value on SQLite."""
        if self.is_postgres:
            return self.column.op("->", return_type=JSONB)(literal(self.key, String))  # type: ignore[no-any-return]
        return func.json_extract(self.column, f'$."{self.key}"')

    def bind(self, value: Any) -> Any:
        """``value`` as :meth:`value` compares with it."""
        return cast(literal(json.dumps(value), String), JSONB) if self.is_postgres else value

    def compare(self, op: str, value: Value) -> Predicate:
        if isinstance(value, bool):
            wanted = "true" if value == (op == "=") else "false"
            if self.is_postgres:
                return self._path(f'== "boolean" && @."{self.key}" == $v', wanted == "true")
            return self._sqlite_type() == wanted
        text = isinstance(value, str)
        if self.is_postgres:
            kind = "string" if text else "number"
            jop = {"=": "==", "!=": "!="}.get(op, op)
            return self._path(f'== "{kind}" && @."{self.key}" {jop} $v', value)
        kinds = ("text",) if text else ("integer", "real")
        return and_(self._sqlite_type().in_(kinds), _OPS[op](self.value(), value))

    def match(self, pattern: str) -> Predicate:
        if self.is_postgres:
            text = self.column.op("->>", return_type=String)(literal(self.key, String))
            return and_(self._path('== "string"'), _like(text, pattern, True))
        return and_(self._sqlite_type() == "text", _like(self.value(), pattern, False))

    def present(self) -> Predicate:
        """The key is there and not JSON null."""
        if self.is_postgres:
            return self._path('!= "null"')
        return self._sqlite_type() != "null"

    def is_number(self) -> Predicate:
        if self.is_postgres:
            return self._path('== "number"')
        return self._sqlite_type().in_(("integer", "real"))


def _day(op: str, day: date) -> Build:
    """``op`` against a whole UTC day: = is within it, <= up to its end, > after it."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    ranges: dict[str, Build] = {
        "=": lambda c: and_(c >= start, c < end),
        "!=": lambda c: or_(c < start, c >= end),
        "<": lambda c: c < start,
        "<=": lambda c: c < end,
        ">": lambda c: c >= end,
        ">=": lambda c: c >= start,
    }
    return ranges[op]


def _like(column: ColumnElement[Any], pattern: str, is_postgres: bool) -> Predicate:
    if is_postgres:
        if (len(pattern) - len(pattern.rstrip("\\"))) % 2:  # a lone \ at the end: literal,
            pattern += "\\"  # as SQLite's GLOB takes it (PostgreSQL would refuse it)
        return column.like(pattern, escape="\\")
    # SQLite's LIKE ignores case (and then no index helps); GLOB is case-sensitive.
    return column.op("GLOB", is_comparison=True)(_like_to_glob(pattern))


def _like_to_glob(pattern: str) -> str:
    """A LIKE pattern (``\\`` escapes) as an SQLite GLOB pattern."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
        elif char == "%":
            out.append("*")
            continue
        elif char == "_":
            out.append("?")
            continue
        out.append(f"[{char}]" if char in "*?[" else char)
    return "".join(out)


__all__ = ["FilterCompiler", "Order"]
