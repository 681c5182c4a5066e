"""``@step``: each call of the decorated function is one recorded execution.

::

    from cmf_core import Dataset, Model, Output, Run, step

    @step(pipeline="fraud", params_file="params.yaml")
    def train(features: Dataset, model: Output[Model], *, epochs: int = 10, run: Run) -> None:
        for epoch in range(epochs):
            run.log_metric("loss", fit_one_epoch(features, model))

    train(Dataset("data/features"), Model("models/model.pkl"), epochs=30)

- **pipeline and stage**: the ``pipeline=`` / ``stage=`` arguments, else the
  ``CMF_PIPELINE`` / ``CMF_STAGE`` variables, else (stage) the function's name.
  A ``cmf=`` recorder given to the decorator supplies its pipeline last.
- **params**: the call's JSON arguments, defaults included
  (:mod:`cmf_core.steps.signature`), over the params file's top-level keys
  (``params_file=``: YAML, JSON or TOML, read at each call), which also gives
  any argument of the same name the caller left out.
- **inputs**: ``inputs=[...]`` and the arguments annotated with a path type
  (:mod:`cmf_core.steps.paths`), hashed before the body runs. One that does
  not exist fails the execution, naming the path, and the body does not run.
- **outputs**: ``outputs=[...]``, the ``Output[X]`` arguments and the returned
  path-typed values, hashed after the body returns; a declared output the body
  did not write fails the execution.
- **the run**: an argument annotated :class:`~cmf_core.run.Run` receives the
  call's run, for step metrics and anything else the body records.
- an exception in the body marks the execution ``failed`` and is re-raised.

Generator functions are one execution from the first ``next()`` until they
finish (a consumer that stops early ends it ``completed``); coroutines and async
generators likewise. Plain strings in ``inputs=`` / ``outputs=`` are datasets;
pass ``Model("…")`` and the like for other types.

The decorator opens the project's store (or ``store=``) on the first call and
keeps it for the later ones; pass ``cmf=`` to share one recorder between steps.
"""

import atexit
import functools
import inspect
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from cmf_core.errors import ArtifactError, InvalidInputError, Kind
from cmf_core.records import EventDirection
from cmf_core.steps.paths import ArtifactPath, Dataset
from cmf_core.steps.signature import BoundCall, Declared, StepSignature, returned_paths

if TYPE_CHECKING:
    from cmf_core.run import Run
    from cmf_core.store import Store
    from cmf_core.tracking import Cmf

F = TypeVar("F", bound=Callable[..., Any])
PathLike = str | os.PathLike[str]


@overload
def step(func: F, /) -> F: ...


@overload
def step(
    *,
    pipeline: str | None = None,
    stage: str | None = None,
    inputs: Sequence[PathLike] = (),
    outputs: Sequence[PathLike] = (),
    params_file: PathLike | None = None,
    cmf: "Cmf | None" = None,
    store: "str | Store | None" = None,
) -> Callable[[F], F]: ...


def step(
    func: F | None = None,
    /,
    *,
    pipeline: str | None = None,
    stage: str | None = None,
    inputs: Sequence[PathLike] = (),
    outputs: Sequence[PathLike] = (),
    params_file: PathLike | None = None,
    cmf: "Cmf | None" = None,
    store: "str | Store | None" = None,
) -> F | Callable[[F], F]:
    """Record each call of the decorated function as one execution (see the module docstring)."""

    def decorate(function: F) -> F:
        recorded = Step(
            function,
            pipeline=pipeline,
            stage=stage,
            inputs=inputs,
            outputs=outputs,
            params_file=params_file,
            cmf=cmf,
            store=store,
        )
        return recorded.wrapper()  # type: ignore[return-value]

    return decorate if func is None else decorate(func)


class Step:
    """One decorated function: its declarations, its signature and the recorder it uses."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        pipeline: str | None,
        stage: str | None,
        inputs: Sequence[PathLike],
        outputs: Sequence[PathLike],
        params_file: PathLike | None,
        cmf: "Cmf | None",
        store: "str | Store | None",
    ) -> None:
        if not callable(func):
            raise InvalidInputError(f"@step decorates a function, not {func!r}.")
        self.func = func
        self.pipeline = pipeline
        self.stage = stage
        self._inputs = [_declared(path) for path in inputs]
        self._outputs = [_declared(path) for path in outputs]
        self._params_file = Path(params_file) if params_file is not None else None
        self._signature = StepSignature(func)
        self._cmf = cmf
        self._store = store
        self._lock = threading.Lock()
        self._function = f"{func.__module__}.{func.__qualname__}"

    # -- the recorder ------------------------------------------------------------------------

    def recorder(self) -> "Cmf":
        """The recorder given, or the one this step opened on its first call."""
        if self._cmf is None:
            with self._lock:
                if self._cmf is None:
                    from cmf_core.tracking import Cmf

                    self._cmf = Cmf(store=self._store)
                    atexit.register(self._cmf.close)
        return self._cmf

    # -- one call ----------------------------------------------------------------------------

    def enter(self, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple["Run", BoundCall]:
        """Start the call's execution and record its inputs (or fail it before the body)."""
        from_file = self._read_params_file()
        call = self._signature.bind(args, kwargs, from_file)
        cmf = self.recorder()
        pipeline = self.pipeline or os.environ.get("CMF_PIPELINE") or cmf.pipeline
        stage = self.stage or os.environ.get("CMF_STAGE") or self.func.__name__
        if not pipeline:
            raise InvalidInputError(
                f"No pipeline for step {stage!r}: pass @step(pipeline='name') or set CMF_PIPELINE."
            )
        params = {**from_file, **call.params}
        run = cmf.start_execution(
            stage, pipeline=pipeline, params=params, properties={"function": self._function}
        )
        try:
            inputs = [*self._inputs, *call.inputs]
            for path, _ in inputs:
                if not os.path.exists(path):
                    raise ArtifactError(
                        f"Input {{path}} of step {stage!r} does not exist; "
                        "create it or fix the path before calling the step.",
                        kind=Kind.PATH,
                        path=path,
                    )
            for path, kind in inputs:
                run.log_artifact(path, type=kind.artifact_type, event=EventDirection.INPUT)
        except BaseException as exc:
            run.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return run, call

    def record_outputs(
        self, run: "Run", call: BoundCall, result: Any, *, require: bool = True
    ) -> None:
        """Hash the call's outputs; with ``require``, one not written fails the execution."""
        found: dict[str, type[ArtifactPath]] = {}
        for path, kind in (
            *self._outputs,
            *call.outputs,
            *returned_paths(result, self._signature.return_hint),
        ):
            found.setdefault(path, kind)
        missing = [path for path in found if not os.path.exists(path)]
        for path, kind in found.items():
            if path not in missing:
                run.log_artifact(path, type=kind.artifact_type, event=EventDirection.OUTPUT)
        if missing and require:
            raise ArtifactError(
                f"Step {self.func.__name__!r} did not write its declared output {{path}}.",
                kind=Kind.PATH,
                path=missing[0],
            )

    def _read_params_file(self) -> dict[str, Any]:
        if self._params_file is None:
            return {}
        from cmf_core.steps.params_file import read_params_file

        return read_params_file(self._params_file)

    # -- wrappers ----------------------------------------------------------------------------

    def wrapper(self) -> Callable[..., Any]:
        """The function to call in place of the decorated one, of the same kind."""
        func = self.func
        wrapped: Callable[..., Any]
        if inspect.isasyncgenfunction(func):
            wrapped = self._async_generator_wrapper()
        elif inspect.iscoroutinefunction(func):

            async def wrapped(*args: Any, **kwargs: Any) -> Any:
                run, call = self.enter(args, kwargs)
                with run:
                    a, k = call.call_with(run)
                    result = await func(*a, **k)
                    self.record_outputs(run, call, result)
                return result

        elif inspect.isgeneratorfunction(func):

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                run, call = self.enter(args, kwargs)
                with run:
                    a, k = call.call_with(run)
                    try:
                        result = yield from func(*a, **k)
                    except GeneratorExit:  # the consumer stopped early: what was made is kept
                        self.record_outputs(run, call, None, require=False)
                        run.end()
                        raise
                    self.record_outputs(run, call, result)
                return result

        else:

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                run, call = self.enter(args, kwargs)
                with run:
                    a, k = call.call_with(run)
                    result = func(*a, **k)
                    self.record_outputs(run, call, result)
                return result

        wrapper = functools.wraps(func)(wrapped)
        wrapper.__cmf_step__ = self  # type: ignore[attr-defined]
        return wrapper

    def _async_generator_wrapper(self) -> Callable[..., Any]:
        func = self.func

        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            run, call = self.enter(args, kwargs)
            with run:
                a, k = call.call_with(run)
                inner = func(*a, **k)
                try:
                    try:
                        value = await inner.__anext__()
                        while True:
                            try:
                                sent = yield value
                            except GeneratorExit:
                                raise
                            except BaseException as exc:
                                value = await inner.athrow(exc)
                            else:
                                value = await inner.asend(sent)
                    except StopAsyncIteration:
                        pass
                except GeneratorExit:  # the consumer stopped early: what was made is kept
                    await inner.aclose()
                    self.record_outputs(run, call, None, require=False)
                    run.end()
                    raise
                self.record_outputs(run, call, None)

        return wrapped


def _declared(path: PathLike) -> Declared:
    if isinstance(path, ArtifactPath):
        return str(path), type(path)
    if isinstance(path, str | os.PathLike):
        return os.fspath(path), Dataset
    raise InvalidInputError(f"inputs= and outputs= take paths, not {path!r}.")
