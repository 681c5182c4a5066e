"""What a ``@step`` function's signature and one call's arguments say should be recorded.

:class:`StepSignature` reads the function once (its annotations resolved on the
first call, so forward references work); :meth:`StepSignature.bind` turns one
call's arguments into the execution's params, its inputs and outputs, and the
arguments to call the body with. An argument annotated
:class:`~cmf_core.run.Run` is given the call's run when the caller leaves it out.

Params are the call's arguments, defaults included, whose values are JSON
(numbers, strings, booleans, None, lists and dicts of them; a
:class:`pathlib.PurePath` as its string). Arguments that are artifacts, the run,
and values that are not JSON (arrays, data frames, open files) are left out.
"""

import inspect
import json
import math
import os
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated, Any, Union, get_args, get_origin

from cmf_core.records import EventDirection
from cmf_core.steps.paths import OUTPUT, ArtifactPath

Declared = tuple[str, type[ArtifactPath]]  # a path and the type it is recorded as
SCALARS = (str, int, bool, type(None), PurePath)
SEQUENCES = (list, tuple, Sequence, typing.Sequence)
NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


@dataclass(frozen=True, slots=True)
class Slot:
    """An argument that names artifacts: their type, and whether the step reads or writes them."""

    kind: type[ArtifactPath]
    direction: EventDirection


@dataclass(frozen=True, slots=True)
class BoundCall:
    """One call, read: what to record before the body, and how to call it."""

    arguments: inspect.BoundArguments
    params: dict[str, Any]
    inputs: list[Declared]
    outputs: list[Declared]
    run_parameter: str | None

    def call_with(self, run: object) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self.run_parameter is not None and self.arguments.arguments[self.run_parameter] is None:
            self.arguments.arguments[self.run_parameter] = run
        return self.arguments.args, self.arguments.kwargs


class StepSignature:
    """The signature of a decorated function, read into slots once."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func
        self.signature = inspect.signature(func)
        self._slots: dict[str, Slot] | None = None
        self._run_parameter: str | None = None
        self.return_hint: Any = None

    def _read_annotations(self) -> dict[str, Slot]:
        from cmf_core.run import Run

        try:
            hints = typing.get_type_hints(self._func, include_extras=True)
        except Exception:  # an unresolvable forward reference: use what is already a type
            hints = {k: v for k, v in self._func.__annotations__.items() if not isinstance(v, str)}
        slots: dict[str, Slot] = {}
        for name in self.signature.parameters:
            hint = hints.get(name)
            if hint is Run or (isinstance(hint, type) and issubclass(hint, Run)):
                self._run_parameter = name
                continue
            found = classify(hint)
            if found is not None:
                slots[name] = Slot(found[0], found[1])
        self.return_hint = hints.get("return")
        return slots

    def bind(
        self, args: Sequence[Any], kwargs: dict[str, Any], fill: Mapping[str, Any]
    ) -> BoundCall:
        """Read one call; a call the function could not take raises TypeError, as Python does.

        An argument the caller left out is taken from ``fill`` (the params file) if named there.
        """
        if self._slots is None:
            self._slots = self._read_annotations()
        slots, run_parameter = self._slots, self._run_parameter
        bound = self.signature.bind_partial(*args, **kwargs)
        for name, parameter in self.signature.parameters.items():
            if name not in bound.arguments and name in fill and parameter.kind in NAMED:
                bound.arguments[name] = fill[name]
        if run_parameter is not None and run_parameter not in bound.arguments:
            bound.arguments[run_parameter] = None  # the run is put here once it exists
        bound = self.signature.bind(*bound.args, **bound.kwargs)  # missing arguments raise here
        bound.apply_defaults()
        params: dict[str, Any] = {}
        inputs: list[Declared] = []
        outputs: list[Declared] = []
        for name, value in bound.arguments.items():
            slot = slots.get(name)
            if slot is not None:
                found = [(path, slot.kind) for path in _paths(value)]
                (inputs if slot.direction is EventDirection.INPUT else outputs).extend(found)
            elif name == run_parameter:
                continue
            elif isinstance(value, ArtifactPath):  # a typed path given to a plain argument
                inputs.append((str(value), type(value)))
            elif self.signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                params.update((k, _param(v)) for k, v in value.items() if _is_json(v))
            elif _is_json(value):
                params[name] = _param(value)
        return BoundCall(bound, params, inputs, outputs, run_parameter)


def classify(hint: Any) -> tuple[type[ArtifactPath], EventDirection] | None:
    """The path type in ``hint`` and its direction (``Output[X]`` writes), if it names one."""
    if isinstance(hint, type):
        return (hint, EventDirection.INPUT) if issubclass(hint, ArtifactPath) else None
    origin = get_origin(hint)
    if origin is Annotated:
        base, *metadata = get_args(hint)
        found = classify(base)
        if found is not None and any(item is OUTPUT for item in metadata):
            return found[0], EventDirection.OUTPUT
        return found
    if origin in (Union, types.UnionType) or origin in SEQUENCES:
        for arg in get_args(hint):
            found = classify(arg)
            if found is not None:
                return found
    return None


def returned_paths(value: Any, hint: Any) -> Iterator[Declared]:
    """The artifacts a return value names: path-typed values, or paths the hint types."""
    if isinstance(value, ArtifactPath):
        yield str(value), type(value)
    elif isinstance(value, str | os.PathLike):
        found = classify(hint)
        if found is not None:
            yield os.fspath(value), found[0]
    elif isinstance(value, tuple | list):
        args = get_args(hint)
        per_item = len(args) == len(value) and Ellipsis not in args and get_origin(hint) is tuple
        for index, item in enumerate(value):
            yield from returned_paths(item, args[index] if per_item else (args[:1] or [None])[0])


def _paths(value: Any) -> Iterator[str]:
    if isinstance(value, str | os.PathLike):
        yield os.fspath(value)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _paths(item)


def _is_json(value: Any) -> bool:
    if isinstance(value, SCALARS):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple | dict):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            return False
        return True
    return False


def _param(value: Any) -> Any:
    if isinstance(value, PurePath):
        return str(value)
    return list(value) if isinstance(value, tuple) else value
