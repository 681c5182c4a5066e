"""The filter language of searches: text in, a frozen syntax tree out (no SQL here).

::

    filter     := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" filter ")" | condition
    condition  := field ("=" | "!=" | "<" | "<=" | ">" | ">=") value
                | field ["not"] ("like" | "glob") string
                | field ["not"] "in" "(" value ("," value)* ")"
                | field "is" ["not"] "null"
    field      := name | group "." key | group "." string      params."learning rate"
    value      := number | string | true | false | null

Example: ``metrics.accuracy >= 0.9 and (params.lr < 0.01 or stage = "train")``.

- Keywords are case-insensitive; field names are not. Strings take double or
  single quotes; ``\\"``, ``\\'``, ``\\\\``, ``\\n`` and ``\\t`` are escapes, any
  other backslash is kept as written (so ``like "50\\%"`` works).
- ``like`` is SQL LIKE: ``%`` any run of characters, ``_`` one character,
  ``\\`` makes the next one literal. ``glob`` is the shell's: ``*`` any run
  (``/`` included), ``?`` one character. Both are case-sensitive on every store.
- ``x = null`` means ``x is null``. A comparison with a value that is missing
  (or of another type) is false, ``!=`` included; ``not`` is the exact
  complement, so ``not site = "edge"`` also matches executions without a site.
- Times (``started_at``, ``ended_at``, ``created_at``) compare with ISO strings:
  ``"2024-05-01"`` (a whole UTC day: ``= "2024-05-01"`` is that day,
  ``<= "2024-05-01"`` includes it) or ``"2024-05-01T12:00:00+02:00"`` (UTC if
  no offset is given).
- ``id``, ``git_commit`` and ``digest`` match by prefix with ``=``, ``!=`` and
  ``in`` (``digest = "3f2a"`` finds ``md5:3f2a…``).
- ``params.<name>`` and ``properties.<name>`` are top-level JSON keys (a dot
  in the name is part of the key); their values are compared by the literal's
  type: numbers with JSON numbers, strings with JSON strings, true/false with
  booleans. A param recorded as the string "0.01" is text: ``params.lr = "0.01"``.
- ``metrics.<name>`` is the execution-level value (not a step series).
- For artifacts, ``path`` is any path the artifact was logged under, and
  ``stage`` / ``pipeline`` those of any execution that produced it.
"""

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal, TypeAlias

from cmf_core.errors import InvalidInputError
from cmf_core.records import ArtifactType, ExecutionStatus

MAX_LENGTH = 2000
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
    "executions": {"params": Kind.JSON, "properties": Kind.JSON, "metrics": Kind.METRIC},
    "artifacts": {"properties": Kind.JSON},
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


# -- tokens ------------------------------------------------------------------------------------

_DIGITS = "0123456789"
_KEYWORDS = {"and", "or", "not", "like", "glob", "in", "is", "null", "true", "false"}
_OPERATORS = ("!=", "<=", ">=", "==", "<>", "=", "<", ">")
_NAME_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | set("0123456789.-/:@")
_ALIASES: dict[str, Operator] = {op: op for op in ("=", "!=", "<", "<=", ">", ">=")}
_ALIASES.update({"==": "=", "<>": "!="})
_PUNCTUATION: dict[str, Literal["(", ")", ","]] = {"(": "(", ")": ")", ",": ","}
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["word", "string", "number", "op", "(", ")", ",", "end"]
    text: str
    at: int
    value: str | int | float | None = None


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in _PUNCTUATION:
            out.append(_Token(_PUNCTUATION[char], char, i))
            i += 1
        elif char in "\"'":
            i = _string(text, i, out)
        elif char in _DIGITS or (char in "-+." and i + 1 < n and text[i + 1] in _DIGITS + "."):
            i = _number(text, i, out)
        elif char in _NAME_START:
            start = i
            while i < n and text[i] in _NAME_CHARS:
                i += 1
            out.append(_Token("word", text[start:i], start))
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise FilterSyntaxError(f"unexpected character {char!r}.", text, i)
            out.append(_Token("op", op, i))
            i += len(op)
    out.append(_Token("end", "", n))
    return out


def _string(text: str, start: int, out: list[_Token]) -> int:
    quote, i = text[start], start + 1
    parts: list[str] = []
    while i < len(text):
        char = text[i]
        if char == quote:
            out.append(_Token("string", text[start : i + 1], start, "".join(parts)))
            return i + 1
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            parts.append(_ESCAPES.get(following, "\\" + following))
            i += 2
            continue
        parts.append(char)
        i += 1
    raise FilterSyntaxError(f"this string has no closing {quote}.", text, start)


def _number(text: str, start: int, out: list[_Token]) -> int:
    i = start + 1
    while i < len(text) and (text[i] in "0123456789._" or text[i].isalpha()):
        if text[i] in "eE" and i + 1 < len(text) and text[i + 1] in "+-":
            i += 1
        i += 1
    raw = text[start:i]
    value: int | float
    try:
        value = int(raw, 10) if raw.lstrip("+-").isdigit() else float(raw)
    except ValueError:
        raise FilterSyntaxError(
            f'{raw!r} is not a number (quote text: "{raw}").', text, start
        ) from None
    if "_" in raw or not (-(2**63) <= value < 2**63):
        raise FilterSyntaxError(f"{raw!r} is not a number cmf can compare.", text, start)
    out.append(_Token("number", raw, start, value))
    return i


# -- the parser --------------------------------------------------------------------------------


def parse_filter(text: str, target: Target) -> Node:
    """Parse a filter on ``target``; raises :class:`FilterSyntaxError` pointing at the problem."""
    if len(text) > MAX_LENGTH:
        raise FilterSyntaxError(
            f"a filter is at most {MAX_LENGTH} characters; this one has {len(text)}.",
            text,
            MAX_LENGTH,
        )
    for i, char in enumerate(text):
        if char == "\0" or 0xD800 <= ord(char) <= 0xDFFF:
            raise FilterSyntaxError(f"the character {char!r} cannot be searched for.", text, i)
    parser = _Parser(text, _tokens(text), target)
    if parser.at("end"):
        raise FilterSyntaxError(
            'the filter is empty; write a condition like stage = "train".', text, 0
        )
    node = parser.disjunction(0)
    if not parser.at("end"):
        raise parser.error("expected 'and', 'or' or the end of the filter")
    return node


class _Parser:
    def __init__(self, text: str, tokens: list[_Token], target: Target) -> None:
        self.text = text
        self.tokens = tokens
        self.target = target
        self.index = 0
        self.conditions = 0

    @property
    def peek(self) -> _Token:
        return self.tokens[self.index]

    def at(self, kind: str) -> bool:
        return self.tokens[self.index].kind == kind

    def take(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek
        if token.kind == "word" and token.text.lower() in words:
            self.index += 1
            return True
        return False

    def error(self, expected: str, token: _Token | None = None) -> FilterSyntaxError:
        token = token or self.peek
        shown = token.text if len(token.text) <= 40 else token.text[:39] + "…"
        found = "the end of the filter" if token.kind == "end" else repr(shown)
        return FilterSyntaxError(f"{expected}, not {found}.", self.text, token.at)

    def disjunction(self, depth: int) -> Node:
        items = [self.conjunction(depth)]
        while self.keyword("or"):
            items.append(self.conjunction(depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self, depth: int) -> Node:
        items = [self.negation(depth)]
        while self.keyword("and"):
            items.append(self.negation(depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def negation(self, depth: int) -> Node:
        if depth >= MAX_DEPTH:
            raise FilterSyntaxError(
                f"parentheses and 'not' nest at most {MAX_DEPTH} deep.", self.text, self.peek.at
            )
        if self.keyword("not"):
            return Not(self.negation(depth + 1))
        if self.at("("):
            opening = self.take()
            node = self.disjunction(depth + 1)
            if not self.at(")"):
                raise self.error(f"expected ')' to close the '(' at column {opening.at + 1}")
            self.take()
            return node
        return self.condition()

    def condition(self) -> Node:
        start = self.peek
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise FilterSyntaxError(
                f"a filter has at most {MAX_CONDITIONS} conditions.", self.text, start.at
            )
        field, kind = self.field()
        token = self.peek
        if token.kind == "op":
            self.take()
            op = _ALIASES[token.text]
            value_token = self.peek
            value = self.value()
            if value is None:
                if op not in ("=", "!="):
                    raise FilterSyntaxError(
                        f"null only compares with = or != (or 'is null'), not {op}.",
                        self.text,
                        token.at,
                    )
                return IsNull(field, negated=op == "!=")
            return Compare(field, op, self.check(field, kind, value, value_token, op))
        if self.keyword("is"):
            negated = self.keyword("not")
            if not self.keyword("null"):
                raise self.error("expected 'null' after 'is'")
            return IsNull(field, negated)
        negated = self.keyword("not")
        if self.keyword("like", "glob"):
            glob = self.tokens[self.index - 1].text.lower() == "glob"
            pattern_token = self.peek
            pattern = self.value()
            if not isinstance(pattern, str):
                raise self.error("expected a quoted pattern", pattern_token)
            if kind not in (Kind.TEXT, Kind.PREFIX, Kind.JSON):
                raise FilterSyntaxError(
                    f"{field} is a {kind.value}; like and glob match text.", self.text, token.at
                )
            return Match(field, glob_to_like(pattern) if glob else pattern, negated)
        if self.keyword("in"):
            return In(field, self.values(field, kind), negated)
        expected = (
            "'like', 'glob' or 'in'"
            if negated
            else "a comparison (= != < <= > >=), 'like', 'glob', 'in' or 'is null'"
        )
        raise self.error(f"expected {expected} after {field}")

    def field(self) -> tuple[Field, Kind]:
        token = self.take()
        if token.kind != "word" or token.text.lower() in _KEYWORDS:
            raise self.error("expected a field name such as stage or metrics.accuracy", token)
        name, dot, key = token.text.partition(".")
        fields, groups = FIELDS[self.target], GROUPS[self.target]
        if not dot and name in fields:
            return Field(name), fields[name]
        if name in groups and dot:
            if not key:
                following = self.peek
                if following.kind != "string" or following.at != token.at + len(token.text):
                    raise self.error(f'expected a name after {name}. (e.g. {name}."a name")')
                key = str(self.take().value)
                if not key or '"' in key or "\\" in key:
                    raise FilterSyntaxError(
                        'a quoted name is not empty and holds no " or \\.', self.text, following.at
                    )
            return Field(name, key), groups[name]
        if name in groups:
            raise FilterSyntaxError(f"name one of the {name}: {name}.<name>.", self.text, token.at)
        valid = field_names(self.target)
        if dot:
            close = [f"{g}.{key}" for g in difflib.get_close_matches(name, list(groups), n=1)]
        else:
            close = difflib.get_close_matches(name, list(fields), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise FilterSyntaxError(
            f"unknown field {token.text!r}{hint}; {self.target} have {', '.join(valid)}.",
            self.text,
            token.at,
        )

    def value(self) -> str | int | float | bool | None:
        token = self.take()
        if token.kind in ("string", "number"):
            return token.value
        if token.kind == "word" and token.text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.text.lower()]
        hint = f' (quote text: "{token.text}")' if token.kind == "word" else ""
        raise self.error(
            f'expected a value: a number, a "string", true, false or null{hint}', token
        )

    def values(self, field: Field, kind: Kind) -> tuple[Value, ...]:
        if not self.at("("):
            raise self.error("expected '(' to start the list after 'in'")
        self.take()
        values: list[Value] = []
        while True:
            token = self.peek
            value = self.value()
            if value is None:
                raise FilterSyntaxError(
                    "null cannot be in a list; use 'is null'.", self.text, token.at
                )
            values.append(self.check(field, kind, value, token, "="))
            if len(values) > MAX_IN_VALUES:
                raise FilterSyntaxError(
                    f"a list has at most {MAX_IN_VALUES} values.", self.text, token.at
                )
            if self.at(")"):
                self.take()
                return tuple(values)
            if not self.at(","):
                raise self.error("expected ',' or ')' in the list")
            self.take()

    def check(self, field: Field, kind: Kind, value: Value, token: _Token, op: Operator) -> Value:
        """``value`` as ``field`` compares with it, or an error at ``token``."""

        def fail(reason: str) -> FilterSyntaxError:
            return FilterSyntaxError(reason, self.text, token.at)

        if isinstance(value, bool) and kind is not Kind.JSON:
            raise fail(f"{field} is not true or false; compare it with a {kind.value}.")
        if kind is Kind.JSON:
            if isinstance(value, bool) and op not in ("=", "!="):
                raise fail(f"true and false compare only with = or !=, not {op}.")
            return value
        if kind in (Kind.NUMBER, Kind.METRIC):
            if not isinstance(value, int | float):
                raise fail(f"{field} is a number; compare it with a number, not {token.text}.")
            return value
        if not isinstance(value, str):
            raise fail(f'{field} is {kind.value}; quote the value: "{token.text}".')
        if kind is Kind.TIME:
            return parse_moment(value, fail)
        if field.name in CHOICES and value not in CHOICES[field.name]:
            raise fail(f"{field} is one of {', '.join(CHOICES[field.name])}; not {value!r}.")
        if kind is Kind.PREFIX and op in ("=", "!="):
            value = normalise_prefix(field.name, value)
            if value in ("", "md5:"):
                raise fail(f"{field} = needs at least the first characters of one.")
        return value


def normalise_prefix(name: str, value: str) -> str:
    """An id, commit or digest prefix as stored: lower case, digests with ``md5:``."""
    value = value.strip().lower()
    if name == "digest" and not value.startswith("md5:"):
        value = "md5:" + value
    return value


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


def parse_sort(text: str, target: Target) -> Sort:
    """``"-metrics.accuracy"`` → a descending sort on that field; InvalidInputError if unknown."""
    raw = text.strip()
    descending = raw.startswith("-")
    name, dot, key = raw.lstrip("+-").partition(".")
    groups = {g.partition(".")[0] for g in SORTABLE[target] if "." in g}
    if (not dot and name in SORTABLE[target]) or (dot and key and name in groups):
        return Sort(Field(name, key or None), descending)
    raise InvalidInputError(
        f"Cannot sort {target} by {text!r}; sort by one of {', '.join(SORTABLE[target])}, "
        "with a leading - for descending (e.g. -started_at)."
    )


def _caret(text: str, position: int) -> str:
    start = max(0, position - 60)
    end = min(len(text), position + 20)
    shown = "".join(c if c.isprintable() else " " for c in text[start:end])
    lead = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return f"  {lead}{shown}{tail}\n  {' ' * (len(lead) + position - start)}^"


__all__ = [
    "LOGGED_IN_PIPELINE",
    "And",
    "Compare",
    "Field",
    "FilterSyntaxError",
    "In",
    "IsNull",
    "Kind",
    "Match",
    "Node",
    "Not",
    "Operator",
    "Or",
    "Sort",
    "Target",
    "Value",
    "all_of",
    "field_names",
    "glob_to_like",
    "normalise_prefix",
    "parse_filter",
    "parse_moment",
    "parse_sort",
]
