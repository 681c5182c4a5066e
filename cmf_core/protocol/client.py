"""``MetricsFile``: the writer's side of the ``cmf run`` line protocol, for Python programs.

::

    from cmf_core import MetricsFile

    with MetricsFile.from_environment() as out:     # inside `cmf run … -- python train.py`
        out.log_params({"lr": 0.01})
        for epoch in range(10):
            out.log_metrics({"loss": loss, "acc": acc}, step=epoch)
        out.log_artifact("models/model.pkl", type="model")
        out.log_metrics({"accuracy": 0.93})          # execution-level

Each call is checked here, with the rules the store applies, and written as one
JSON line with one ``write``; lines up to 4 KiB from several processes never
interleave on the pipe. ``cmf log`` is this class on the command line. A
program in any other language writes the same lines itself
(:mod:`cmf_core.protocol.lines`).
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cmf_core.errors import ArtifactError, InvalidInputError, Kind
from cmf_core.protocol.lines import RESERVED
from cmf_core.protocol.reader import ENV_FILE
from cmf_core.records import ArtifactType, EventDirection
from cmf_core.validation import (
    json_mapping,
    metric_name,
    metric_step,
    metric_value,
    parse_direction,
    parse_type,
)


class MetricsFile:
    """Appends protocol lines to a metrics file (``CMF_METRICS_FILE``, or any path)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot open the metrics file {{path}}: {exc.strerror}.",
                kind=Kind.PATH,
                path=os.fspath(path),
            ) from exc

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The metrics file of the ``cmf run`` around this process."""
        path = (os.environ if environ is None else environ).get(ENV_FILE)
        if not path:
            raise InvalidInputError(
                f"{ENV_FILE} is not set: this process is not running under `cmf run`, "
                "so there is no execution to record into."
            )
        return cls(path)

    # -- lines -------------------------------------------------------------------------------

    def log_metric(self, name: str, value: float, *, step: int | None = None) -> None:
        """One value of the step series ``name`` (at ``step``, else the series' next step)."""
        self.log_metrics({name: value}, step=step, series=True)

    def log_metrics(
        self, metrics: Mapping[str, float], *, step: int | None = None, series: bool = False
    ) -> None:
        """Execution-level metrics; with ``step`` (or ``series``), one step of several series."""
        if not isinstance(metrics, Mapping) or not metrics:
            raise InvalidInputError("log_metrics takes a non-empty mapping of name -> number.")
        values = {metric_name(n): metric_value(n, v) for n, v in metrics.items()}
        reserved = sorted(RESERVED.intersection(values))
        if reserved and (step is not None or series):
            raise InvalidInputError(
                f"A step series cannot be called {reserved[0]!r}: the line protocol uses the name."
            )
        if step is not None:
            self._write({"step": metric_step(step), **values})
        elif series:
            self._write(values)
        else:
            self._write({"metric": values})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Merge ``params`` into the execution's parameters."""
        self._write({"param": json_mapping(params, "params")})

    def log_artifact(
        self,
        path: str | os.PathLike[str],
        *,
        type: str | ArtifactType | None = None,
        event: str | EventDirection = EventDirection.OUTPUT,
    ) -> None:
        """Record the file or directory at ``path`` (hashed by ``cmf run`` when it reads this)."""
        direction = parse_direction(event)
        line: dict[str, Any] = {direction.value: str(Path(path).absolute())}
        if not Path(path).exists():
            raise ArtifactError(
                "{path} does not exist; write it before recording it.",
                kind=Kind.PATH,
                path=os.fspath(path),
            )
        if type is not None:
            line["type"] = parse_type(type).value
        self._write(line)

    def _write(self, line: Mapping[str, Any]) -> None:
        data = memoryview((json.dumps(line, separators=(",", ":")) + "\n").encode())
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot write to the metrics file: {exc.strerror}; "
                "the `cmf run` around this process may have ended."
            ) from exc

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
