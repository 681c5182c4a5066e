"""What a script may record: names, JSON mappings, metric values and steps, event directions
and artifact types, each checked before anything reaches the store.

Every check returns the value as it is stored (a float for a metric, a ``dict``
with string keys for a mapping, the enum member for a direction or a type) or
raises :class:`~cmf_core.errors.InvalidInputError` saying what to pass instead.
Both backends must be able to hold what passes: no NaN or NUL in JSON, no
control characters in names, steps that fit a signed 64-bit integer.
"""

import json
from collections.abc import Mapping
from typing import Any

from cmf_core.errors import InvalidInputError
from cmf_core.records import ArtifactType, EventDirection

MAX_STEP = 2**63 - 1


def parse_direction(event: str | EventDirection) -> EventDirection:
    try:
        return EventDirection(event.lower() if isinstance(event, str) else event)
    except ValueError:
        raise InvalidInputError(
            f"Unknown event direction {event!r}; use 'input' (the run read it) or "
            "'output' (the run wrote it)."
        ) from None


def parse_type(type: str | ArtifactType) -> ArtifactType:
    try:
        return ArtifactType(type.lower() if isinstance(type, str) else type)
    except ValueError:
        known = ", ".join(t.value for t in ArtifactType)
        raise InvalidInputError(f"Unknown artifact type {type!r}; use one of: {known}.") from None


def json_mapping(value: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be a mapping of name -> value, not {value!r}.")
    result = {str(k): v for k, v in value.items()}
    try:
        text = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{what} must hold JSON values (str, number, bool, None, lists, dicts; no NaN): {exc}."
        ) from exc
    if "\\u0000" in text:  # PostgreSQL cannot store NUL in JSON text
        raise InvalidInputError(f"{what} must not contain NUL characters (\\x00).")
    return result


def storable_text(text: str | None) -> str | None:
    """A command or error text as both backends can hold it, never refused: NUL (which
    PostgreSQL refuses) becomes the two characters ``\\0``, a lone surrogate (from a file
    name that is not UTF-8) its escape ``\\udcXX``; all else is kept."""
    if text is None or (text.isascii() and "\x00" not in text):
        return text
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\0")


def record_name(name: str, what: str) -> str:
    """A pipeline or stage name both backends can store: 1–255 characters, no control ones."""
    if len(name) > 255 or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise InvalidInputError(
            f"A {what} name must be 1–255 characters without control characters "
            f"(newlines, tabs, NUL); {name[:40]!r}… is not."
        )
    return name


def metric_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidInputError(f"A metric name must be a non-empty string, not {name!r}.")
    if "\x00" in name:  # PostgreSQL cannot store it; a buffered step would fail its whole batch
        raise InvalidInputError(f"A metric name must not contain NUL characters (\\x00): {name!r}.")
    return name


def metric_value(name: str, value: Any) -> float:
    """``value`` as a float: ints, floats, numpy scalars, 0-d tensors; never a bool."""
    if isinstance(value, bool):
        raise InvalidInputError(f"Metric {name!r} must be a number, not a bool.")
    try:
        return float(value)
    except OverflowError:
        raise InvalidInputError(f"Metric {name!r} is too large for a float: {value!r}.") from None
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"Metric {name!r} must be a number, not {type(value).__name__} {value!r}."
        ) from None


def metric_step(step: Any) -> int:
    """``step`` if it is a whole number a store can hold (0 to 2**63-1); never a bool."""
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
        raise InvalidInputError(f"step must be a whole number from 0 to 2**63-1, not {step!r}.")
    return step
