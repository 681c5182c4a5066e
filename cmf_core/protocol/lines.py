"""What one line of ``CMF_METRICS_FILE`` means, and recording it into a run.

Each line is one JSON object:

=========================================  ================================================
``{"step": 3, "loss": 0.4, "acc": 0.9}``   step metrics: every other key is a series name
``{"loss": 0.4}``                          the same, at the series' next step
``{"metric": {"accuracy": 0.93}}``         execution-level metrics
``{"param": {"lr": 0.01}}``                params, merged into the execution's
``{"output": "models/m.pkl", "type": "model"}``  an artifact, hashed when the line arrives
``{"input": "data/train.csv"}``            (``type`` optional: ``cmf run``'s
                                           ``--output-type`` / ``--input-type``)
=========================================  ================================================

A relative path is relative to the folder ``cmf run`` was started in. A line
that is not one of these raises :class:`LineRejected` saying why; nothing of it
is recorded.
"""

import json
from typing import TYPE_CHECKING, Any

from cmf_core.records import ArtifactType, EventDirection

if TYPE_CHECKING:
    from cmf_core.run import Run

ARTIFACT_KEYS = {"input": EventDirection.INPUT, "output": EventDirection.OUTPUT}
NUMBERS = (int, float)
RESERVED = frozenset({"step", "metric", "param", "input", "output"})  # never a series name


class LineRejected(ValueError):
    """A line that cannot be recorded; the message says why."""


def record_line(
    run: "Run",
    line: bytes,
    *,
    input_type: ArtifactType = ArtifactType.DATASET,
    output_type: ArtifactType = ArtifactType.DATASET,
) -> int:
    """Record one line into ``run``; returns how many metric values it held."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise LineRejected("not JSON") from None
    if type(data) is not dict:
        raise LineRejected(f"a JSON {type(data).__name__}, not an object")
    if "metric" in data:
        run.log_metrics(_only(data, "metric"))
        return len(data["metric"])
    if "param" in data:
        run.log_params(_only(data, "param"))
        return 0
    for key, direction in ARTIFACT_KEYS.items():
        if key in data:
            _record_artifact(run, data, key, direction, input_type, output_type)
            return 0
    return _record_step(run, data)


def _record_step(run: "Run", data: dict[str, Any]) -> int:
    step = data.pop("step", None)
    if not data:
        raise LineRejected("no metric values (a step line holds 'step' and name: number pairs)")
    for name, value in data.items():
        if type(value) not in NUMBERS:
            raise LineRejected(f"metric {name!r} is {json.dumps(value)[:40]}, not a number")
    if step is not None and (type(step) is not int or step < 0):
        raise LineRejected(f"step must be a whole number from 0, not {json.dumps(step)[:40]}")
    for name, value in data.items():
        run.log_metric(name, value, step=step)
    return len(data)


def _record_artifact(
    run: "Run",
    data: dict[str, Any],
    key: str,
    direction: EventDirection,
    input_type: ArtifactType,
    output_type: ArtifactType,
) -> None:
    extra = set(data) - {key, "type"}
    if extra:
        raise LineRejected(f"unknown key(s) {', '.join(sorted(extra))} beside {key!r}")
    path, kind = data[key], data.get("type")
    if not isinstance(path, str) or not path:
        raise LineRejected(f"{key!r} must be a path (a non-empty string)")
    if kind is not None and not isinstance(kind, str):
        raise LineRejected("'type' must be an artifact type's name, e.g. \"model\"")
    default = input_type if direction is EventDirection.INPUT else output_type
    run.log_artifact(path, type=kind or default, event=direction)


def _only(data: dict[str, Any], key: str) -> dict[str, Any]:
    if len(data) > 1:
        extra = ", ".join(sorted(k for k in data if k != key))
        raise LineRejected(f"unknown key(s) {extra} beside {key!r}")
    value = data[key]
    if type(value) is not dict or not value:
        raise LineRejected(f"{key!r} must hold a non-empty object of name: value")
    return value
