"""TensorBoard logs as step metrics: the scalars of a log directory's event files.

::

    run.log_tensorboard("runs/exp1")                 # or: cmf run --tensorboard runs/exp1 -- …

Every folder under the directory that holds ``events.out.tfevents.*`` files is
read with TensorBoard's own reader (the ``tensorboard`` package, the
``cmf[tensorboard]`` extra): scalars written as ``simple_value`` (PyTorch's
``SummaryWriter``, TF1) and as scalar tensors (TF2's ``tf.summary.scalar``).
Each tag becomes a step series, named ``tag`` for files at the top and
``folder/tag`` for files in a sub-folder (``train/loss``, ``validation/loss``);
a step written twice keeps its last value. The directory is then recorded as an
output artifact of type ``tensorboard``, so the curves show in ``cmf compare``,
``cmf metrics``, the MCP metric tools and the UI without running TensorBoard.
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmf_core.errors import ArtifactError, InvalidInputError, Kind
from cmf_core.records import ArtifactType, EventDirection

if TYPE_CHECKING:
    from cmf_core.records import Artifact
    from cmf_core.run import Run

EVENT_FILE_PREFIX = "events.out.tfevents."


def read_scalars(directory: str | os.PathLike[str]) -> dict[str, dict[int, float]]:
    """Series name → {step: value} for every scalar in the event files under ``directory``."""
    root = Path(directory)
    if not root.is_dir():
        raise ArtifactError(
            "TensorBoard log directory {path} does not exist or is not a folder.",
            kind=Kind.PATH,
            path=str(directory),
        )
    try:
        from tensorboard.backend.event_processing import event_accumulator
        from tensorboard.util import tensor_util
    except ImportError as exc:
        raise InvalidInputError(
            "Reading TensorBoard logs needs the tensorboard package: "
            "pip install 'cmf[tensorboard]'."
        ) from exc
    found: dict[str, dict[int, float]] = {}
    guidance = {event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
    for folder in sorted(_event_folders(root)):
        prefix = "" if folder == root else f"{folder.relative_to(root).as_posix()}/"
        accumulator: Any = event_accumulator.EventAccumulator(str(folder), size_guidance=guidance)
        try:
            accumulator.Reload()
        except Exception as exc:  # a truncated or foreign file: say which folder
            raise ArtifactError(
                f"Cannot read the TensorBoard event files in {{path}}: {exc}.",
                kind=Kind.PATH,
                path=str(folder),
            ) from exc
        tags = accumulator.Tags()
        for tag in tags.get("scalars", []):
            series = found.setdefault(prefix + tag, {})
            for event in accumulator.Scalars(tag):
                series[int(event.step)] = float(event.value)
        for tag in tags.get("tensors", []):
            if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
                continue
            series = found.setdefault(prefix + tag, {})
            for event in accumulator.Tensors(tag):
                series[int(event.step)] = float(tensor_util.make_ndarray(event.tensor_proto))
    return found


def log_tensorboard(run: "Run", directory: str | os.PathLike[str]) -> "Artifact":
    """Record the scalars under ``directory`` as step metrics of ``run``, and the directory
    as its ``tensorboard`` output; returns the artifact."""
    for name, steps in read_scalars(directory).items():
        for step, value in sorted(steps.items()):
            run.log_metric(name, value, step=step)
    run.flush()
    return run.log_artifact(
        Path(directory), type=ArtifactType.TENSORBOARD, event=EventDirection.OUTPUT
    )


def _event_folders(root: Path) -> set[Path]:
    folders = set()
    for folder, _, files in os.walk(root):
        if any(name.startswith(EVENT_FILE_PREFIX) for name in files):
            folders.add(Path(folder))
    return folders
