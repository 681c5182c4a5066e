"""The process-wide guard that keeps a ``Run``'s buffered step metrics from being lost.

One daemon thread per process (not one per run) wakes four times a second and
writes the buffer of every open run whose oldest value is a second old, so a
SIGKILL loses at most about a second of a series even when no further call
comes; once a minute it also writes a heartbeat for the open runs, so a run on
another host is not taken for stale (:mod:`cmf_core.stale`) while it lives.

At interpreter exit (``atexit``) and on SIGTERM every open run writes what it buffered
and ends ``failed`` ("process exited without ending the execution" / "terminated by
SIGTERM"); the handler the program had for the signal is then called, or, if it had
none, the default action is taken. On SIGINT the buffers are written and the previous
handler runs (the ``KeyboardInterrupt`` then ends a ``with run:`` block as failed, or
``atexit`` does). Signal handlers are installed only from the main thread and never over
a signal the program ignores.

The guard is process state by nature (``atexit``, signal handlers, one
thread), so it is the one module-level object this library keeps.
"""

import atexit
import os
import signal
import threading
import time
import weakref
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmf_core.run import Run
    from cmf_core.store import Store

TICK_S = 0.25  # how often the flush thread looks at the open runs
HEARTBEAT_S = 60.0  # how often it tells each store its open runs are alive (cmf_core.stale)
EXITED = "process exited without ending the execution"

_Handler = Any  # what signal.getsignal returns: a callable, SIG_DFL, SIG_IGN or None


class RunGuard:
    """The open runs of this process, and the thread and hooks that flush and end them."""

    def __init__(self) -> None:
        self._runs: weakref.WeakSet[Run] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: dict[int, _Handler] = {}
        self._pid = 0

    def watch(self, run: "Run") -> None:
        """Start guarding ``run`` (the thread and hooks are set up on the first run)."""
        with self._lock:
            if self._pid != os.getpid():  # first run, or a forked child: set up afresh
                self._pid = os.getpid()
                self._runs = weakref.WeakSet()
                self._thread = threading.Thread(
                    target=self._loop, name="cmf-metric-flush", daemon=True
                )
                self._thread.start()
                atexit.register(self.end_all, EXITED)
                self._install_signal_handlers()
            self._runs.add(run)

    def forget(self, run: "Run") -> None:
        with self._lock:
            self._runs.discard(run)

    def _open_runs(self) -> list["Run"]:
        with self._lock:
            return list(self._runs)

    def _loop(self) -> None:
        last_beat = time.monotonic()
        while not self._wake.wait(TICK_S):
            runs = self._open_runs()
            for run in runs:
                try:
                    with run.store.unless_closed() as is_open:
                        if is_open:
                            run.flush_if_due()
                except Exception:  # the values stay buffered; the next call retries
                    continue
            if time.monotonic() - last_beat >= HEARTBEAT_S:
                last_beat = time.monotonic()
                self._beat(runs)

    @staticmethod
    def _beat(runs: list["Run"]) -> None:
        """One heartbeat write per store for its open runs (stores already closed are skipped)."""
        by_store: dict[int, tuple[Store, list[str]]] = {}
        for run in runs:
            by_store.setdefault(id(run.store), (run.store, []))[1].append(run.id)
        for store, ids in by_store.values():
            if store.read_only:
                continue
            try:
                with store.unless_closed() as is_open:
                    if is_open:
                        store.heartbeat(ids)
            except Exception:  # a missed heartbeat only makes the run look stale sooner
                continue

    def flush_all(self) -> None:
        for run in self._open_runs():
            try:
                with run.store.unless_closed() as is_open:
                    if is_open:
                        run.flush()
            except Exception:  # ending the run reports what could not be written
                continue

    def end_all(self, reason: str) -> None:
        """Write every open run's buffer and end it ``failed`` with ``reason`` (runs on a
        store their program closed are left as it left them)."""
        for run in self._open_runs():
            try:
                with run.store.unless_closed() as is_open:
                    if is_open:
                        run.end_unfinished(reason)
            except Exception:  # the store is gone; the run stays as recorded
                continue

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if previous is signal.SIG_IGN or previous is None:
                continue
            self._previous[signum] = previous
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # The main thread may be inside a store call (holding SQLite's write lock):
        # act once that call ends, not from inside it. (Imported here: a run exists, so
        # the store is loaded; at the top it would load SQLAlchemy with ``import cmf_core``.)
        from cmf_core.store.base import after_store_calls

        after_store_calls(lambda: self._act_on(signum, frame))

    def _act_on(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum, signal.SIG_DFL)
        if signum == signal.SIGTERM:
            self.end_all("terminated by SIGTERM")
        else:
            self.flush_all()
        if callable(previous):
            previous(signum, frame)
        elif previous is signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)


GUARD = RunGuard()
