"""The pipe ``cmf run`` hands its child as ``CMF_METRICS_FILE``, read as lines arrive.

The child (and anything it starts) inherits the pipe's write end: it opens the
path in ``CMF_METRICS_FILE`` (``/dev/fd/N``) for appending, or writes to the
descriptor number in ``CMF_METRICS_FD``. A thread in ``cmf run`` reads the other
end and records each line at once (:mod:`cmf_core.protocol.lines`), so a job
killed part-way keeps everything it wrote; step metrics are flushed whenever
the pipe falls quiet, and at least every second under a steady stream.

A line that cannot be recorded is counted and skipped, never stopping the
child: at the end the count, the first such line's number and the reason are
set as the execution's ``metrics_file`` property and given as one warning.
Once the child has exited, what is still in the pipe is read (for at most two
seconds); a process it left running in the background that still holds the
pipe is not waited for, and its later writes fail with a broken pipe.
"""

import contextlib
import os
import select
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from cmf_core.errors import warn_user
from cmf_core.protocol.lines import LineRejected, record_line
from cmf_core.records import ArtifactType

if TYPE_CHECKING:
    from cmf_core.run import Run

ENV_FILE = "CMF_METRICS_FILE"
ENV_FD = "CMF_METRICS_FD"
ENV_EXECUTION = "CMF_EXECUTION_ID"
CHUNK = 1 << 16
MAX_LINE = 1 << 20  # a longer line is rejected (and skipped up to its newline)
IDLE_S = 0.2  # a quiet pipe this long: buffered step metrics are written
DRAIN_S = 2.0  # once the child has exited, what is left is read for at most this long
PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = 1031  # Linux; elsewhere the pipe keeps its default size


class LineReader:
    """Reads the protocol pipe of one ``cmf run`` execution into its run (a context manager)."""

    def __init__(
        self,
        run: "Run",
        *,
        input_type: ArtifactType = ArtifactType.DATASET,
        output_type: ArtifactType = ArtifactType.DATASET,
    ) -> None:
        self._run = run
        self._types = {"input_type": input_type, "output_type": output_type}
        self._read_fd, self._write_fd = -1, -1
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.lines = 0
        self.values = 0
        self.rejected = 0
        self.first_rejected: tuple[int, str] | None = None

    # -- what the child is given -------------------------------------------------------------

    def child_environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env[ENV_FILE] = f"/dev/fd/{self._write_fd}"
        env[ENV_FD] = str(self._write_fd)
        env[ENV_EXECUTION] = self._run.id
        return env

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self._write_fd,)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._read_fd, self._write_fd = os.pipe()
        try:
            import fcntl

            fcntl.fcntl(self._write_fd, F_SETPIPE_SZ, PIPE_SIZE)
        except (ImportError, OSError):
            pass
        self._thread = threading.Thread(target=self._read, name="cmf-metrics-file", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        os.close(self._write_fd)
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        os.close(self._read_fd)
        if self.rejected:
            self._report()

    def _report(self) -> None:
        number, reason = self.first_rejected or (0, "")
        verb = "was" if self.rejected == 1 else "were"
        summary: dict[str, Any] = {
            "lines": self.lines,
            "rejected": self.rejected,
            "first_rejected_line": number,
            "first_reason": reason,
        }
        with contextlib.suppress(Exception):  # the warning still says what was lost
            self._run.set_properties(metrics_file=summary)
        warn_user(
            f"{self.rejected} of {self.lines} lines in CMF_METRICS_FILE {verb} not recorded; "
            f"the first, line {number}: {reason}."
        )

    # -- the reading thread ------------------------------------------------------------------

    def _read(self) -> None:
        pending = b""
        skipping = False  # inside a line longer than MAX_LINE
        fd = self._read_fd
        drain_until: float | None = None
        while True:
            stopping = self._stopping.is_set()
            if stopping and drain_until is None:
                drain_until = time.monotonic() + DRAIN_S
            ready, _, _ = select.select([fd], [], [], 0 if stopping else IDLE_S)
            if drain_until is not None and time.monotonic() > drain_until:
                break  # something the child left running still writes: stop reading it
            if not ready:
                self._flush()
                if stopping:
                    break
                continue
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                if skipping:
                    skipping = False
                    self.lines += 1
                    self._reject("longer than 1 MiB")
                else:
                    self._line(line)
            if len(pending) > MAX_LINE:
                pending, skipping = b"", True
        if skipping:
            self.lines += 1
            self._reject("longer than 1 MiB")
        elif pending.strip():
            self._line(pending)
        self._flush()

    def _line(self, line: bytes) -> None:
        self.lines += 1
        if not line.strip():
            return
        try:
            self.values += record_line(self._run, line, **self._types)
        except LineRejected as exc:
            self._reject(str(exc))
        except Exception as exc:  # invalid values, missing paths, an unreachable store
            self._reject(str(exc) or type(exc).__name__)

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        if self.first_rejected is None:
            self.first_rejected = (self.lines, reason)

    def _flush(self) -> None:
        # Values that cannot be written stay buffered; ending the run tries again, and fails
        # the execution, saying so, if they still cannot.
        with contextlib.suppress(Exception):
            self._run.flush()
