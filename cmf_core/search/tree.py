"""The filter language's vocabulary: the fields each target has, the frozen syntax tree,
and the rules for values (times, prefixes, globs). No SQL and no parsing here.

:mod:`cmf_core.search.parser` builds this tree from text and
:mod:`cmf_core.search.filters` (the grammar and the public face) hands it out;
the store's search (:mod:`cmf_core.store.search`) turns it into SQL. Both the
parser and the filters module import this one, so the arrows point one way.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal, TypeAlias

from cmf_core.digest import digest_prefix
from cmf_core.errors import InvalidInputError
from cmf_core.vocabulary import ArtifactType, ExecutionStatus

MAX_FILTER_LENGTH = 2000
MAX_DEPTH = 32
MAX_CONDITIONS = 100
MAX_IN_VALUES = 100

# A field the library sets (search_artifacts(pipeline=...)) but filters cannot name: the
# pipeline of any execution that read or wrote the artifact.
LOGGED_IN_PIPELINE = "logged_in_pipeline"

Target = Literal["executions", "artifacts"]
Operator = Literal["=", "!=", "<", "<=", ">", ">="]
Value: TypeAlias = str | int | float | bool | date | datetime


class Kind(StrEnum):
    """How a field's values compare."""

    TEXT = "text"
    PREFIX = "prefix"  # text; = != in match by prefix
    NUMBER = "number"
    TIME = "time"
    JSON = "json"  # params.<name>, properties.<name>
    METRIC = "metric"  # metrics.<name>
    LABEL = "label"  # labels.<key>: the current value of an annotation (text)


FIELDS: dict[Target, dict[str, Kind]] = {
    "executions": {
        "id": Kind.PREFIX,
        "pipeline": Kind.TEXT,
        "stage": Kind.TEXT,
        "status": Kind.TEXT,
        "site": Kind.TEXT,
        "started_at": Kind.TIME,
        "ended_at": Kind.TIME,
        "git_commit": Kind.PREFIX,
        "git_branch": Kind.TEXT,
        "command": Kind.TEXT,
        "error": Kind.TEXT,
    },
    "artifacts": {
        "digest": Kind.PREFIX,
        "type": Kind.TEXT,
        "path": Kind.TEXT,
        "size": Kind.NUMBER,
        "nfiles": Kind.NUMBER,
        "stage": Kind.TEXT,
        "pipeline": Kind.TEXT,
        "created_at": Kind.TIME,
    },
}
GROUPS: dict[Target, dict[str, Kind]] = {
    "executions": {
        "params": Kind.JSON,
        "properties": Kind.JSON,
        "metrics": Kind.METRIC,
        "labels": Kind.LABEL,
    },
    "artifacts": {"properties": Kind.JSON, "labels": Kind.LABEL},
}
CHOICES: dict[str, tuple[str, ...]] = {
    "status": tuple(s.value for s in ExecutionStatus),
    "type": tuple(t.value for t in ArtifactType),
}
SORTABLE: dict[Target, tuple[str, ...]] = {
    "executions": ("started_at", "ended_at", "metrics.<name>", "params.<name>"),
    "artifacts": ("created_at", "size", "nfiles"),
}


class FilterSyntaxError(InvalidInputError):
    """A filter that cannot be parsed; the message shows the column with a caret."""

    def __init__(self, reason: str, text: str, position: int) -> None:
        self.reason = reason
        self.text = text
        self.column = position + 1
        super().__init__(
            f"Invalid filter at column {self.column}: {reason}\n{_caret(text, position)}"
        )


# -- the syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # "stage", or a group: "params", "properties", "metrics"
    key: str | None = None  # the name after the group's dot

    def __str__(self) -> str:
        return self.name if self.key is None else f"{self.name}.{self.key}"


@dataclass(frozen=True, slots=True)
class Compare:
    field: Field
    op: Operator
    value: Value


@dataclass(frozen=True, slots=True)
class Match:
    """``like`` or ``glob``; ``pattern`` is always in LIKE syntax with ``\\`` as escape."""

    field: Field
    pattern: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class In:
    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    field: Field
    negated: bool = False


@dataclass(frozen=True, slots=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: "Node"


Node: TypeAlias = Compare | Match | In | IsNull | And | Or | Not


@dataclass(frozen=True, slots=True)
class Sort:
    field: Field
    descending: bool


def all_of(nodes: list[Node]) -> Node | None:
    """The conjunction of ``nodes`` (None for none)."""
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def glob_to_like(pattern: str) -> str:
    """A shell glob (``*``, ``?``, ``\\`` escapes) as a LIKE pattern with ``\\`` escapes."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append("\\" + char if char in "%_\\" else char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append("\\" + char if char in "%_" else char)
    return "".join(out)


def field_names(target: Target) -> list[str]:
    """The field names a filter on ``target`` may use, for help texts and errors."""
    return [*FIELDS[target], *(f"{group}.<name>" for group in GROUPS[target])]


def normalise_prefix(name: str, value: str) -> str:
    """An id, commit or digest prefix as stored: lower case, digests with ``md5:``."""
    return digest_prefix(value) if name == "digest" else value.strip().lower()


def parse_moment(
    text: str, fail: Callable[[str], Exception] = InvalidInputError
) -> date | datetime:
    """An ISO date (a whole UTC day) or an aware UTC datetime (naive means UTC)."""
    try:
        if len(text) == 10:
            moment: date = date.fromisoformat(text)
        else:
            moment = datetime.fromisoformat(text)
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        if not 1 < moment.year < 9999:
            raise ValueError(moment)
    except (ValueError, OverflowError):
        raise fail(
            f'{text!r} is not an ISO date or time (e.g. "2024-05-01" or "2024-05-01T12:00:00Z").'
        ) from None
    return moment


def _caret(text: str, position: int) -> str:
    start = max(0, position - 60)
    end = min(len(text), position + 20)
    shown = "".join(c if c.isprintable() else " " for c in text[start:end])
    lead = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return f"  {lead}{shown}{tail}\n  {' ' * (len(lead) + position - start)}^"
