"""Implicit tracking: record an execution around any command (``cmf run``).

Inputs are hashed before the command starts (so what the command read is
pinned even if it rewrites them), outputs after it exits. The command's exit
status decides the execution's: 0 → completed, anything else → failed. A
declared output that the command did not produce fails the execution too.
Ctrl-C reaches the command through the terminal (cmf waits for it to finish,
then records it); a SIGTERM sent to cmf is passed on to the command. The command
records metrics, params and artifacts of its own by writing JSON lines to
``CMF_METRICS_FILE`` (:mod:`cmf_core.protocol`), read as they arrive.
"""

import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from cmf_core.errors import ArtifactError, InvalidInputError, Kind
from cmf_core.file_errors import os_error
from cmf_core.protocol.reader import LineReader
from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus
from cmf_core.tracking import Cmf
from cmf_core.validation import parse_type

MISSING_OUTPUT_EXIT = 1


def run_command(
    cmf: Cmf,
    command: Sequence[str],
    *,
    stage: str,
    pipeline: str | None = None,
    inputs: Sequence[str | Path] = (),
    outputs: Sequence[str | Path] = (),
    params: Mapping[str, Any] | None = None,
    input_type: str | ArtifactType = ArtifactType.DATASET,
    output_type: str | ArtifactType = ArtifactType.DATASET,
    tensorboard: str | Path | None = None,
) -> tuple[str, int]:
    """Run ``command`` as one execution of ``stage``; returns (execution id, exit code).

    ``tensorboard`` names a log directory whose scalars are recorded as step metrics once
    the command has exited (:mod:`cmf_core.tensorboard`), whatever its status.
    """
    if not command:
        raise InvalidInputError("No command to run: put it after `--`, e.g. `-- python train.py`.")
    for path in inputs:
        cmf.resolve_path(path)  # fail on a bad path before anything is recorded
        _check_input(path)
    run = cmf.start_execution(stage, pipeline=pipeline, params=params, command=shlex.join(command))
    with run:
        for path in inputs:
            run.log_artifact(path, type=input_type, event=EventDirection.INPUT)
        types = {"input_type": parse_type(input_type), "output_type": parse_type(output_type)}
        with LineReader(run, **types) as lines:  # CMF_METRICS_FILE: lines recorded as they come
            code = _run_forwarding_signals(command, lines.child_environment(), lines.pass_fds)
        if tensorboard is not None and Path(tensorboard).is_dir():  # a failed run's curves too
            run.log_tensorboard(tensorboard)
        if code != 0:
            run.end(ExecutionStatus.FAILED, error=f"command exited with status {code}")
            return run.id, code
        missing = [str(p) for p in outputs if not Path(p).exists()]
        if tensorboard is not None and not Path(tensorboard).is_dir():
            missing.append(str(tensorboard))
        for path in outputs:
            if str(path) not in missing:
                run.log_artifact(path, type=output_type, event=EventDirection.OUTPUT)
        if missing:
            run.end(
                ExecutionStatus.FAILED,
                error=f"declared output(s) not produced: {', '.join(missing)}",
            )
            return run.id, MISSING_OUTPUT_EXIT
    return run.id, 0


def _check_input(path: str | Path) -> None:
    """Refuse an input that is missing, a dangling link or a link loop, naming it."""
    try:
        os.stat(path)
    except FileNotFoundError as exc:
        if os.path.islink(path):
            raise os_error(str(path), exc) from None
        raise ArtifactError(
            "Input {path} does not exist; create it or fix the path before running.",
            kind=Kind.PATH,
            path=str(path),
        ) from None
    except OSError as exc:
        raise os_error(str(path), exc) from None


def _run_forwarding_signals(
    command: Sequence[str], env: Mapping[str, str] | None = None, pass_fds: Sequence[int] = ()
) -> int:
    try:
        process = subprocess.Popen(list(command), env=env, pass_fds=pass_fds)
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot start {command[0]!r}: {exc.strerror}. Check the command name and PATH."
        ) from exc

    def forward(signum: int, _frame: FrameType | None) -> None:
        process.send_signal(signum)

    if threading.current_thread() is not threading.main_thread():
        return process.wait()  # only the main thread may install signal handlers
    # Ctrl-C already reaches the command (it shares the terminal's process group), so the
    # parent only waits for it to finish; SIGTERM, sent to cmf alone, is passed on.
    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
    }
    try:
        return process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
