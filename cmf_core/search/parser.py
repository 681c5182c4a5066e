"""The filter language's tokenizer and recursive-descent parser.

:func:`parse` turns filter text into the frozen syntax tree of
:mod:`cmf_core.search.tree` (the grammar is drawn in :mod:`cmf_core.search.filters`),
checking every field against the catalogue and every value against its field's
kind as it goes.
Callers use :func:`cmf_core.search.filters.parse_filter`, which calls :func:`parse`.
"""

import difflib
from dataclasses import dataclass
from typing import Literal

from cmf_core.digest import is_empty_prefix
from cmf_core.search.tree import (
    CHOICES,
    FIELDS,
    GROUPS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_IN_VALUES,
    And,
    Compare,
    Field,
    FilterSyntaxError,
    In,
    IsNull,
    Kind,
    Match,
    Node,
    Not,
    Operator,
    Or,
    Target,
    Value,
    field_names,
    glob_to_like,
    normalise_prefix,
    parse_moment,
)

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


def parse(text: str, target: Target) -> Node:
    """Parse a filter on ``target``; raises :class:`FilterSyntaxError` pointing at the problem."""
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterSyntaxError(
            f"a filter is at most {MAX_FILTER_LENGTH} characters; this one has {len(text)}.",
            text,
            MAX_FILTER_LENGTH,
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
            if kind not in (Kind.TEXT, Kind.PREFIX, Kind.JSON, Kind.LABEL):
                raise FilterSyntaxError(
                    f"{field} is a {kind.value}; like and glob match text.", self.text, token.at
                )
            if not glob and (len(pattern) - len(pattern.rstrip("\\"))) % 2:
                raise FilterSyntaxError(
                    "a like pattern cannot end in a lone backslash (it escapes nothing); to "
                    "match a backslash, escape it: four backslashes inside the quotes.",
                    self.text,
                    pattern_token.at + len(pattern_token.text) - 2,
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

        if kind is Kind.LABEL and not isinstance(value, str):
            raise fail(f'a label is text; quote the value: {field} = "{token.text}".')
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
            if is_empty_prefix(value):
                raise fail(f"{field} = needs at least the first characters of one.")
        return value


__all__ = ["parse"]
