r"""Content digests for files and directories, identical to the ones DVC 3 writes.

A **file**'s digest is ``md5:`` and the md5 of its bytes, read verbatim (DVC 2's
CRLF-to-LF normalisation, ``md5-dos2unix``, is gone in DVC 3).

A **directory**'s digest is ``md5:``, the md5 of its *manifest*, and ``.dir``.
The manifest is the object DVC caches under that digest: a JSON list of one
object per file, sorted by the whole posix ``relpath`` in Python string order
(by code point), serialised as dvc-data's ``Tree.as_bytes`` does it --
``json.dumps(entries, sort_keys=True)``, default separators, ``ensure_ascii`` --
on one line, encoded as UTF-8::

    [{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "a/b"}, {"md5": …, "relpath": "\u00e9"}]

Its size is the sum of the files' sizes and ``nfiles`` their number, as in the
``.dvc`` file. What counts as a file follows dvc-data's walk and the defaults of
``dvc.ignore.DvcIgnoreFilter`` (:mod:`cmf_core.dir_walk` lists the rules): only
files; ``.git``, ``.hg``, ``.dvc`` and nested DVC repositories left out; links
to files followed; special files refused. A directory with no file at all is
:data:`EMPTY_DIR_DIGEST`.

The **stat cache** (:class:`StatCache`) remembers, per regular file, (absolute
path, inode, mtime_ns, size) → md5; a file whose three stat values all match is
not read. One call looks up all its files in one ``get_stat_entries`` batch and
stores the new ones in one ``put_stat_entries`` batch. Like DVC's state database
it trusts mtime: a rewrite keeping the size and the nanosecond mtime goes unseen.
A file whose inode, size or mtime differ between the walk's stat and the
``fstat`` after reading raises :class:`ArtifactError` and is not cached (files
hashed cleanly in the same call still are). :mod:`cmf_core.file_md5` reads one file.

**Threads** are chosen by what a file costs: files of :data:`THREADED_SIZE` or
more are shared among up to ``workers`` threads (their md5 runs without the GIL),
while the calling thread reads the smaller ones meanwhile, in order; a directory
of small files is thus read by one thread, which on 2 cores was faster than two.

**Confinement**: given ``within`` (folders), every file is opened once, and what
the descriptor names (its real path) must lie inside one of them and outside
their ``.cmf``/``.git``; its bytes are read from that descriptor only. A link
swapped between a caller's check and the read therefore cannot make cmf record
a file from elsewhere (:class:`cmf_core.paths.OpenedFileCheck`).

**Stopping**: ``stop`` (a :class:`threading.Event`) is looked at between blocks
and between files; once set, hashing raises :class:`ArtifactError` within one
block and caches nothing more. A ``KeyboardInterrupt`` in the calling thread
stops the reader threads the same way.
"""

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_string
from operator import itemgetter
from pathlib import Path

from cmf_core.digest import dir_digest, file_digest, is_dir_digest
from cmf_core.dir_walk import WalkedFile, walk_dir
from cmf_core.errors import ArtifactError, InvalidInputError, Kind
from cmf_core.file_errors import os_error, special_error
from cmf_core.file_md5 import BLOCK_SIZE, ReadGuard, Report, check_known, md5_file
from cmf_core.progress import HashProgress
from cmf_core.stat_entries import MemoryStatCache, StatCache, StatEntry

# A lone file smaller than this is read rather than looked up: reading and hashing
# it costs less than the stat cache's two store round trips (lookup, then update).
SMALL_FILE = 256 << 10
DEFAULT_WORKERS = min(32, max(2, os.cpu_count() or 1))
"""Most threads that read a directory's large files when ``workers`` is not given.

Threads are chosen by what a file costs, not by the number of cores: only files
of :data:`THREADED_SIZE` or more go to the threads (md5 releases the GIL on big
blocks, so they hash in parallel), while the calling thread reads the small
ones meanwhile, in order. On 2 cores, 10,000 files of 4 KiB hashed by 2 threads
took 1.8x as long as by 1 (GIL hand-offs cost more than a 4 KiB md5).
"""
THREADED_SIZE = 256 << 10
"""Files this large or larger are shared among the threads; smaller ones are not."""
EMPTY_DIR_DIGEST = "md5:d751713988987e9331980363e24189ce.dir"
"""The digest of a directory that holds no file (the md5 of the manifest ``[]``)."""

_BATCH_FILES = 128  # most files handed to a thread at once
_BATCH_BYTES = 4 * BLOCK_SIZE  # a batch stops growing past this many bytes


@dataclass(frozen=True, slots=True)
class DigestInfo:
    """The digest of a file or directory, with the size and file count DVC records."""

    digest: str
    """``md5:<32 hex>`` for a file, ``md5:<32 hex>.dir`` for a directory."""
    size: int
    """Bytes: the file's size, or the sum of the sizes of a directory's files."""
    nfiles: int | None
    """``None`` for a file; the number of files for a directory."""

    @property
    def is_dir(self) -> bool:
        """Whether the digest names a directory manifest."""
        return is_dir_digest(self.digest)


def hash_path(
    path: str | os.PathLike[str],
    *,
    stat_cache: StatCache | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    within: Sequence[Path] | None = None,
    stop: threading.Event | None = None,
) -> DigestInfo:
    """Return the DVC 3 digest of the file or directory at ``path``.

    ``stat_cache`` skips reading files whose inode, mtime and size it already
    knows (a lone file under :data:`SMALL_FILE` is simply read). ``progress``
    draws a bar on stderr once hashing lasts over 0.5 s: ``None`` only on a
    terminal, ``False`` never, ``True`` on any stderr (see
    :mod:`cmf_core.progress`). ``workers`` is how many threads read a
    directory's files (default :data:`DEFAULT_WORKERS`; 1 reads them in order in
    the calling thread). ``within`` confines every read to those folders, checked
    on the opened descriptor (:class:`~cmf_core.errors.InvalidInputError`
    otherwise); ``stop`` ends hashing early once set. Raises
    :class:`ArtifactError` when the bytes cannot be read or hashed; see the module
    docstring for what DVC's rules imply.
    """
    given = os.fspath(path)
    if workers is not None and workers < 1:
        raise InvalidInputError(f"workers must be 1 or more, not {workers}.")
    check_opened: Callable[[int, str], None] | None = None
    if within is not None:
        from cmf_core.paths import OpenedFileCheck

        check_opened = OpenedFileCheck(within)
    guard = ReadGuard(check_opened, stop if stop is not None else threading.Event())
    root = os.path.abspath(given)
    try:
        info = os.stat(root)
    except OSError as exc:
        raise os_error(given, exc) from exc
    if stat.S_ISDIR(info.st_mode):
        return _hash_dir(root, stat_cache, progress, workers or DEFAULT_WORKERS, guard)
    if not stat.S_ISREG(info.st_mode):
        raise special_error(given, info.st_mode)
    if given.endswith(os.sep) or (os.altsep is not None and given.endswith(os.altsep)):
        raise ArtifactError(
            "'{path}' is a file, not a directory; drop the trailing slash to hash the file.",
            kind=Kind.PATH,
            path=given,
        )
    file = (root, os.path.basename(root), info.st_ino, info.st_mtime_ns, info.st_size)
    cache = stat_cache if info.st_size >= SMALL_FILE else None
    (md5,) = _hash_files([file], cache, progress, 1, guard)
    return DigestInfo(file_digest(md5), info.st_size, None)


def _hash_dir(
    root: str, stat_cache: StatCache | None, progress: bool | None, workers: int, guard: ReadGuard
) -> DigestInfo:
    files = walk_dir(root)
    files.sort(key=itemgetter(1))
    md5s = _hash_files(files, stat_cache, progress, workers, guard)
    data = manifest_bytes(zip((file[1] for file in files), md5s, strict=True))
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return DigestInfo(dir_digest(digest), sum(file[4] for file in files), len(files))


def manifest_bytes(entries: Iterable[tuple[str, str]]) -> bytes:
    """Return DVC's ``.dir`` manifest for (relpath, md5) pairs already sorted by relpath.

    Byte for byte what ``json.dumps([{"md5": md5, "relpath": relpath}, ...],
    sort_keys=True).encode()`` gives, as dvc-data's ``Tree.as_bytes`` writes it,
    built with json's own string escaper at a fifth of the cost.
    """
    body = ", ".join(
        [f'{{"md5": "{md5}", "relpath": {_json_string(relpath)}}}' for relpath, md5 in entries]
    )
    return f"[{body}]".encode()


def _hash_files(
    files: list[WalkedFile],
    stat_cache: StatCache | None,
    progress: bool | None,
    workers: int,
    guard: ReadGuard,
) -> list[str]:
    """Return the md5 of each file, from the stat cache where it is still valid."""
    md5s: list[str] = [""] * len(files)
    todo: list[int] = []
    if stat_cache is None:
        todo = list(range(len(files)))
    else:
        known = stat_cache.get_stat_entries([file[0] for file in files])
        for index, file in enumerate(files):
            entry = known.get(file[0])
            if entry is not None and entry[1:4] == file[2:]:  # inode, mtime_ns, size
                md5s[index] = entry.md5
            else:
                todo.append(index)
        if guard.check_opened is not None:  # a known file is still opened and checked
            for index, md5 in enumerate(md5s):
                if md5:
                    check_known(files[index], guard)
    if not todo:
        return md5s
    total_bytes = sum(file[4] for file in files)
    todo_bytes = sum(files[index][4] for index in todo)
    with HashProgress(total_files=len(files), total_bytes=total_bytes, show=progress) as bar:
        bar.advance(files=len(files) - len(todo), nbytes=total_bytes - todo_bytes)
        done, error = _read_files(files, todo, md5s, bar, workers, guard)
    if stat_cache is not None and done:
        make = StatEntry._make
        entries = []
        for index in done:
            path, _, inode, mtime_ns, size = files[index]
            entries.append(make((path, inode, mtime_ns, size, md5s[index])))
        stat_cache.put_stat_entries(entries)
    if error is not None:
        raise error
    return md5s


def _read_files(
    files: list[WalkedFile],
    todo: list[int],
    md5s: list[str],
    bar: HashProgress,
    workers: int,
    guard: ReadGuard,
) -> tuple[list[int], ArtifactError | None]:
    """Hash ``files[i]`` for each i in ``todo`` into ``md5s[i]``.

    Files of :data:`THREADED_SIZE` or more go to up to ``workers`` threads in
    batches while the calling thread reads the others in order. Returns the
    indices hashed cleanly and the first error met, if any: every file or batch
    that finished before the error still counts, batches not yet started are
    cancelled.
    """
    shared = [i for i in todo if files[i][4] >= THREADED_SIZE] if workers > 1 else []
    batches = _batch(files, shared) if len(shared) > 1 else []
    alone = [i for i in todo if files[i][4] < THREADED_SIZE] if batches else todo
    report: Report | None = bar.advance if bar.is_enabled else None
    done: list[int] = []
    error: ArtifactError | None = None
    futures: dict[Future[list[str]], list[int]] = {}
    pool = None
    try:
        if batches:
            pool = ThreadPoolExecutor(min(workers, len(batches)), thread_name_prefix="hash")
            for batch in batches:
                futures[pool.submit(_hash_batch, [files[i] for i in batch], report, guard)] = batch
        error = _read_in_turn(files, alone, md5s, done, bar, guard)
        for future in as_completed(futures) if error is None else ():
            batch = futures.pop(future)
            try:
                _record(future.result(), batch, md5s, done, bar)
            except ArtifactError as exc:
                error = exc
                break
    except BaseException:  # KeyboardInterrupt, or a refused file: the readers stop too
        guard.stop.set()
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    # After an error, keep the batches that finished meanwhile: their stat
    # entries are still worth storing.
    for future, batch in futures.items():
        if not future.cancelled() and future.exception() is None:
            _record(future.result(), batch, md5s, done, bar)
    return done, error


def _read_in_turn(
    files: list[WalkedFile],
    indices: list[int],
    md5s: list[str],
    done: list[int],
    bar: HashProgress,
    guard: ReadGuard,
) -> ArtifactError | None:
    """Hash ``files[i]`` for each i in ``indices`` in the calling thread, in order."""
    view = None
    report: Report | None = bar.advance if bar.is_enabled else None
    for count, index in enumerate(indices):
        file = files[index]
        if view is None and file[4] >= BLOCK_SIZE:
            view = memoryview(bytearray(BLOCK_SIZE))
        try:
            md5s[index] = md5_file(file, view, report, guard)
        except ArtifactError as exc:
            done.extend(indices[:count])
            return exc
        if report is not None:
            bar.advance(files=1)
    done.extend(indices)
    return None


def _record(
    results: list[str], batch: list[int], md5s: list[str], done: list[int], bar: HashProgress
) -> None:
    for index, md5 in zip(batch, results, strict=True):
        md5s[index] = md5
    done.extend(batch)
    bar.advance(files=len(batch))


def _batch(files: list[WalkedFile], todo: list[int]) -> list[list[int]]:
    """Group files so that each thread's task has a useful amount to read."""
    batches: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for index in todo:
        size = files[index][4]
        if current and (len(current) >= _BATCH_FILES or current_bytes + size > _BATCH_BYTES):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(index)
        current_bytes += size
    if current:
        batches.append(current)
    return batches


def _hash_batch(batch: list[WalkedFile], report: Report | None, guard: ReadGuard) -> list[str]:
    view = memoryview(bytearray(BLOCK_SIZE)) if max(f[4] for f in batch) >= BLOCK_SIZE else None
    return [md5_file(file, view, report, guard) for file in batch]


__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_WORKERS",
    "EMPTY_DIR_DIGEST",
    "THREADED_SIZE",
    "DigestInfo",
    "MemoryStatCache",
    "StatCache",
    "StatEntry",
    "hash_path",
    "manifest_bytes",
]
