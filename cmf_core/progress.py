"""Terminal progress for long hashing.

:class:`HashProgress` counts files and bytes done against known totals. It draws
a `rich <https://rich.readthedocs.io>`_ bar (files and bytes) on a stream, by
default ``sys.stderr``, but only once the work has lasted longer than ``delay``
seconds (0.5 s by default), so quick hashes print nothing at all.

``delay`` defaults to :data:`DEFAULT_DELAY`, read when the object is made.
``show`` decides where a bar may appear:

- ``None`` (auto): only when the stream is a terminal. On a pipe, a file or a
  closed stream nothing is ever written.
- ``False``: never.
- ``True``: on any stream, terminal or not. On a terminal the bar is animated;
  elsewhere rich writes the final state once, when the work ends. The delay
  still applies, so forcing a bar never slows down or clutters quick work.

rich is imported only when a bar is actually drawn. :meth:`HashProgress.advance`
is thread-safe: hashing workers may report bytes as they read them.
"""

import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

DEFAULT_DELAY = 0.5


def is_terminal(stream: TextIO) -> bool:
    """Tell whether ``stream`` is an open terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # no isatty, or closed
        return False


class HashProgress:
    """Files and bytes hashed so far, drawn as a bar when the work is long.

    Use as a context manager; the bar (if any) is stopped on exit::

        with HashProgress(total_files=n, total_bytes=size) as progress:
            ...
            progress.advance(files=1, nbytes=len(block))
    """

    def __init__(
        self,
        *,
        total_files: int,
        total_bytes: int,
        description: str = "Hashing",
        show: bool | None = None,
        stream: TextIO | None = None,
        delay: float | None = None,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._is_enabled = show is True or (show is None and is_terminal(self._stream))
        self._total_files = total_files
        self._total_bytes = total_bytes
        self._description = description
        self._delay = DEFAULT_DELAY if delay is None else delay
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._files = 0
        self._bytes = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    @property
    def is_enabled(self) -> bool:
        """Whether a bar may be drawn (counts are kept only then)."""
        return self._is_enabled

    @property
    def is_shown(self) -> bool:
        """Whether a bar has been drawn."""
        return self._bar is not None

    def __enter__(self) -> Self:
        self._start = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            if self._bar is not None:
                self._refresh()
                self._bar.stop()

    def advance(self, nbytes: int = 0, *, files: int = 0) -> None:
        """Add ``nbytes`` hashed bytes and ``files`` finished files."""
        if not self._is_enabled:
            return
        with self._lock:
            self._files += files
            self._bytes += nbytes
            if self._bar is None:
                if time.monotonic() - self._start < self._delay:
                    return
                self._start_bar()
            self._refresh()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(file=self._stream),
            transient=False,
        )
        self._task = self._bar.add_task(
            self._description,
            total=self._total_bytes,
            files=self._files,
            total_files=self._total_files,
        )
        self._bar.start()

    def _refresh(self) -> None:
        assert self._bar is not None and self._task is not None
        self._bar.update(self._task, completed=self._bytes, files=self._files)


__all__ = ["DEFAULT_DELAY", "HashProgress", "is_terminal"]
