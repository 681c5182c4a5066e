"""The queue SQLite writers wait in: a lock file beside the store, taken around each write.

SQLite lets one writer in at a time; the others wait in its busy handler, which
sleeps and retries with growing sleeps (up to 100 ms each). A writer that has
slept long is the least likely to be awake when the lock comes free, so under
eight busy writers an unlucky one waited seconds for transactions of a few
milliseconds. Every cmf write transaction on a SQLite file therefore first
queues on ``<store>-lock`` (made beside the store on the first write; reads
never touch it), first come, first served:

- a writer takes a ticket: under a short lock on the file's first byte it reads
  the counter stored at bytes 8–15, writes it back plus one, and locks the
  ticket's own byte (16 + ticket mod 2²⁰) before letting the first byte go;
- it then waits, in the kernel, for the byte of the ticket before its own, which
  the writer ahead holds until its transaction commits or rolls back;
- it holds its own byte until its own transaction ends, which lets the next in.

The locks are open-file-description locks (Linux ``F_OFD_SETLKW``): every
connection queues on its own, threads of one process included, and a process
that dies lets go of its place. Where they do not exist, an exclusive ``flock``
on the whole file is used instead (waiters then race for it when it is freed).
SQLite's own lock still guards the data: a writer that does not queue (another
tool, an older cmf) is served by the busy handler as before. A thread that
already holds the queue (a write opened inside another one) does not queue again.
"""

import fcntl
import os
import sqlite3
import struct
import threading
from pathlib import Path
from typing import Any, ClassVar

LOCK_SUFFIX = "-lock"
SLOTS = 1 << 20  # ticket bytes; more writers than this waiting at once would share one
_COUNTER_AT = 8
_FIRST_SLOT = 16
_OFD_WAIT = getattr(fcntl, "F_OFD_SETLKW", None)


def _range_lock(fd: int, kind: int, start: int) -> None:
    """Lock (or, with F_UNLCK, free) the one byte at ``start``, waiting for it if need be."""
    assert _OFD_WAIT is not None
    # struct flock on Linux: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks).
    fcntl.fcntl(fd, _OFD_WAIT, struct.pack("hhqqi4x", kind, os.SEEK_SET, start, 1, 0))


class WriteLock:
    """The write queue of one SQLite store."""

    # Per thread, the lock files it holds, whichever engine took them: two stores open on
    # one file in one thread must not wait for each other.
    _held: ClassVar[threading.local] = threading.local()

    def __init__(self, database: Path) -> None:
        self.path = str(database.with_name(database.name + LOCK_SUFFIX))

    def _holding(self) -> set[str]:
        held: set[str] | None = getattr(self._held, "paths", None)
        if held is None:
            held = self._held.paths = set()
        return held

    def open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def acquire(self, fd: int) -> int | None:
        """Wait for this writer's turn on ``fd`` (a descriptor from :meth:`open`); returns
        what :meth:`release` needs, or None when this thread already holds the queue."""
        held = self._holding()
        if self.path in held:
            return None
        if _OFD_WAIT is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            slot = -1
        else:
            slot = self._queue(fd)
        held.add(self.path)
        return slot

    @staticmethod
    def _queue(fd: int) -> int:
        slot = -1
        try:
            _range_lock(fd, fcntl.F_WRLCK, 0)
            try:
                raw = os.pread(fd, 8, _COUNTER_AT)
                ticket = int.from_bytes(raw, "little") if len(raw) == 8 else 0
                os.pwrite(fd, ((ticket + 1) % (1 << 63)).to_bytes(8, "little"), _COUNTER_AT)
                slot = _FIRST_SLOT + ticket % SLOTS
                _range_lock(fd, fcntl.F_WRLCK, slot)
            finally:
                _range_lock(fd, fcntl.F_UNLCK, 0)
            ahead = _FIRST_SLOT + (ticket - 1) % SLOTS
            _range_lock(fd, fcntl.F_WRLCK, ahead)  # free once the writer ahead is done
            _range_lock(fd, fcntl.F_UNLCK, ahead)
        except BaseException:  # interrupted (KeyboardInterrupt): give the place up
            if slot >= 0:
                _range_lock(fd, fcntl.F_UNLCK, slot)  # a no-op if it was not taken yet
            raise
        return slot

    def release(self, fd: int, slot: int | None) -> None:
        if slot is None:
            return
        self._holding().discard(self.path)
        if slot < 0:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            _range_lock(fd, fcntl.F_UNLCK, slot)


def locked_connection_class(lock: WriteLock) -> type[sqlite3.Connection]:
    """A ``sqlite3.Connection`` class whose write transactions queue on ``lock`` first
    (:meth:`begin_write`) and leave the queue once they commit or roll back."""

    class LockedConnection(sqlite3.Connection):
        # False for a file that is not a cmf store (cmflib's mlmd): it is refused, and no
        # lock file is made beside it.
        queues = True
        _lock_fd = -1
        _slot: int | None = None
        _queued = False

        def begin_write(self) -> None:
            """Queue, then ``BEGIN IMMEDIATE`` (leaving the queue if that fails)."""
            if not self.queues:
                self.execute("BEGIN IMMEDIATE")
                return
            if self._lock_fd < 0:
                self._lock_fd = lock.open()
            self._slot, self._queued = lock.acquire(self._lock_fd), True
            try:
                self.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._leave()
                raise

        def _leave(self) -> None:
            if self._queued:
                slot, self._slot, self._queued = self._slot, None, False
                lock.release(self._lock_fd, slot)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._leave()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._leave()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._leave()
                if self._lock_fd >= 0:
                    fd, self._lock_fd = self._lock_fd, -1
                    os.close(fd)

    return LockedConnection


def begin_write(dbapi_connection: Any) -> bool:
    """Begin a write transaction through the queue, if the connection has one."""
    begin = getattr(dbapi_connection, "begin_write", None)
    if begin is None:
        return False
    begin()
    return True


__all__ = ["LOCK_SUFFIX", "SLOTS", "WriteLock", "begin_write", "locked_connection_class"]
