"""The local content store: every logged artifact's bytes once, in DVC's cache layout.

::

    cache = Cache.for_project(project_root)          # .dvc/cache in a DVC repo, else .cmf/cache
    cache.add("models/model.pkl", "md5:3f2a…")       # stores the bytes unless already there
    cache.checkout("md5:3f2a…", "models/model.pkl")  # puts them back

Objects are named by their md5 (``files/md5/ab/cdef…``; a directory is its
``.dir`` manifest plus one object per file), so the same bytes logged under any
name, by any stage or pipeline, are stored once. An object is written under a
temporary name, hashed in the same pass and renamed into place read-only
(:mod:`cmf_core.artifacts.copying`), so a half-written object never has its
final name and a hardlink to one cannot be written through.

**Link types** (like DVC's ``cache.type``), tried in order when bytes go into
the cache and when they come back out: ``reflink`` (a copy-on-write clone: free,
and the two files stay independent), ``hardlink`` (free, but the workspace file
becomes the read-only cache object: a script that rewrites it in place fails
with "permission denied" until it is deleted first), ``copy``. The default is
DVC's, ``reflink,copy``: nothing cmf logs changes the user's own files.
"""

import contextlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.artifacts import copying
from cmf_core.artifacts.dvc_config import is_dvc_repo, read_dvc_config
from cmf_core.artifacts.layout import (
    OBJECTS,
    ManifestEntry,
    is_oid,
    oid_of,
    parse_manifest,
)
from cmf_core.artifacts.links import (
    DEFAULT_LINK_TYPES,
    LINK_TYPES,
    LinkType,
    link,
    make_folder,
    parse_link_types,
)
from cmf_core.artifacts.placing import place_object
from cmf_core.errors import ArtifactError

if TYPE_CHECKING:
    from cmf_core.config import Settings
    from cmf_core.hashing import StatCache

WORKERS = 8  # threads copying a directory's files: small files are syscall-bound
BATCH = 1000  # objects made durable with one sync (see copying.make_durable)


def cache_dir(project_root: Path) -> Path:
    """The project's cache: DVC's when the project is a DVC repo, else ``.cmf/cache``."""
    if is_dvc_repo(project_root):
        configured = read_dvc_config(project_root).cache_dir
        return configured if configured is not None else project_root / ".dvc" / "cache"
    return project_root / ".cmf" / "cache"


@dataclass(frozen=True, slots=True)
class FileToStore:
    path: str
    relpath: str
    md5: str | None  # known, or None (hashed while copying)
    size: int
    stat: tuple[int, int, int] | None = None
    """(inode, mtime_ns, size) when the stat cache vouches for ``md5``: copied unhashed."""


class Cache:
    """A DVC-layout object store on the local disk (see the module docstring)."""

    def __init__(self, root: Path, *, link_types: Sequence[LinkType] = DEFAULT_LINK_TYPES):
        self.root = Path(root)
        self.objects = self.root.joinpath(*OBJECTS)
        self.link_types = parse_link_types(link_types)

    @classmethod
    def for_project(
        cls, project_root: Path, *, link_types: Sequence[LinkType] = DEFAULT_LINK_TYPES
    ) -> "Cache":
        return cls(cache_dir(project_root), link_types=link_types)

    @classmethod
    def for_settings(cls, settings: "Settings") -> "Cache":
        """The project's cache with the link types ``cache_type`` names."""
        return cls.for_project(
            settings.project_root, link_types=parse_link_types(settings.cache_type)
        )

    def __repr__(self) -> str:
        return f"Cache({str(self.root)!r})"

    # -- objects -----------------------------------------------------------------------------

    def object_path(self, oid: str) -> str:
        """The path of object ``oid`` (an object id, not a digest)."""
        return f"{self.objects}{os.sep}{oid[:2]}{os.sep}{oid[2:]}"

    def has_object(self, oid: str) -> bool:
        return os.path.isfile(self.object_path(oid))

    def has(self, digest: str) -> bool:
        """Whether all of the artifact's bytes are here (a directory: manifest and every file)."""
        oid = oid_of(digest)
        if not self.has_object(oid):
            return False
        if not oid.endswith(".dir"):
            return True
        return all(self.has_object(e.md5) for e in self.read_manifest(digest))

    def read_manifest(self, digest: str) -> list[ManifestEntry]:
        path = self.object_path(oid_of(digest))
        try:
            with open(path, "rb") as stream:
                data = stream.read()
        except OSError as exc:
            raise ArtifactError(
                f"The manifest of {digest} is not in the cache {self.root}: {exc.strerror}."
            ) from exc
        return parse_manifest(data, digest=digest)

    def object_ids(self, digest: str) -> list[str]:
        """The objects that make up an artifact: itself, and for a directory its files."""
        oid = oid_of(digest)
        if not oid.endswith(".dir"):
            return [oid]
        return [oid, *dict.fromkeys(e.md5 for e in self.read_manifest(digest))]

    def iter_oids(self) -> Iterator[str]:
        """Every object id in the cache (temporary files left by a killed copy are skipped)."""
        try:
            prefixes = sorted(os.listdir(self.objects))
        except FileNotFoundError:
            return
        for prefix in prefixes:
            if len(prefix) != 2:
                continue
            with contextlib.suppress(NotADirectoryError, FileNotFoundError):
                for name in sorted(os.listdir(self.objects / prefix)):
                    if is_oid(prefix + name):
                        yield prefix + name

    def temp_files(self) -> list[str]:
        """Temporary files a killed copy left under the objects folder."""
        found: list[str] = []
        for folder, _, files in os.walk(self.objects):
            found.extend(os.path.join(folder, name) for name in files if name.endswith(".tmp"))
        return found

    def remove(self, oid: str) -> int:
        """Delete object ``oid``; returns the bytes freed (0 if it was not there)."""
        path = self.object_path(oid)
        try:
            size = os.stat(path).st_size
            os.unlink(path)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise copying.write_error(path, exc) from exc
        return size

    def check_object(self, oid: str) -> bool:
        """Re-read object ``oid``: True when its bytes (a file or a manifest) still match it."""
        import hashlib

        try:
            with open(self.object_path(oid), "rb") as stream:
                actual = hashlib.file_digest(stream, "md5").hexdigest()
        except OSError:
            return False
        return actual == oid.removesuffix(".dir")

    def add_manifest(self, digest: str, data: bytes) -> None:
        """Store the bytes of a ``.dir`` manifest under ``digest`` (checked)."""
        import io

        oid = oid_of(digest)
        if self.has_object(oid):
            return
        expected = oid.removesuffix(".dir")
        final = self.object_path(oid)
        temp, _, _ = copying.write_temp(io.BytesIO(data), final, expected_md5=expected)
        copying.make_durable([temp])
        copying.place(temp, final)

    # -- adding a workspace path -------------------------------------------------------------

    def add(
        self,
        path: str | os.PathLike[str],
        digest: str,
        *,
        stat_cache: "StatCache | None" = None,
        durable: bool = True,
    ) -> int:
        """Store the bytes of the file or directory at ``path``, whose digest is ``digest``.

        Objects already in the cache are not copied again. Returns the bytes newly
        stored. The bytes are checked against ``digest`` as they are copied: a file
        changed since it was hashed raises ArtifactError and nothing is placed
        under its name.

        ``durable=False`` (logging) leaves writing the new objects to disk to the
        kernel and does not wait for it: a killed process still leaves only whole
        objects (they are renamed once complete), and only a crash of the machine
        itself within seconds could leave one short, which ``cmf artifact status``
        reports as corrupt. Waiting costs about 2 s for 1 GiB on the disks measured
        (bench/bench_artifacts.py), and so did asking for writeback to start
        (``sync_file_range`` blocks once the disk's queue is full).
        """
        oid = oid_of(digest)
        source = os.fspath(path)
        if not oid.endswith(".dir"):
            if self.has_object(oid):
                return 0
            info = os.stat(source)
            stat = (info.st_ino, info.st_mtime_ns, info.st_size)
            known = stat_cache.get_stat_entries([source]) if stat_cache else {}
            entry = known.get(source)
            vouched = entry is not None and (
                entry.inode,
                entry.mtime_ns,
                entry.size,
                entry.md5,
            ) == (
                *stat,
                oid,
            )
            file = FileToStore(source, "", oid, info.st_size, stat if vouched else None)
            self._store_files([file], workers=1, durable=durable)
            return info.st_size
        if self.has(digest):
            return 0
        from cmf_core.dir_walk import walk_dir  # the hasher's own walk: the same files

        files = walk_dir(os.path.abspath(source))
        known = stat_cache.get_stat_entries([f[0] for f in files]) if stat_cache else {}
        with_md5 = []
        for path, relpath, inode, mtime_ns, size in files:
            entry = known.get(path)
            is_known = entry is not None and (entry.inode, entry.mtime_ns, entry.size) == (
                inode,
                mtime_ns,
                size,
            )
            md5 = entry.md5 if entry is not None and is_known else None
            vouched_stat = (inode, mtime_ns, size) if md5 is not None else None
            with_md5.append(FileToStore(path, relpath, md5, size, vouched_stat))
        md5s, new = self._store_files(with_md5, workers=WORKERS, durable=durable)
        from cmf_core.hashing import manifest_bytes

        entries = sorted(zip((f.relpath for f in with_md5), md5s, strict=True))
        data = manifest_bytes(entries)
        import hashlib

        actual = f"md5:{hashlib.md5(data, usedforsecurity=False).hexdigest()}.dir"
        if actual != digest:
            raise ArtifactError(
                f"'{source}' changed since it was hashed (its digest is now {actual}, not "
                f"{digest}); its manifest was not cached. Log it again once it is stable."
            )
        self.add_manifest(digest, data)
        return sum(f.size for f, is_new in zip(with_md5, new, strict=True) if is_new)

    def _store_files(
        self, files: list[FileToStore], *, workers: int, durable: bool = True
    ) -> tuple[list[str], list[bool]]:
        """Put each file's bytes in the cache: (their md5s, whether each was newly stored)."""
        md5s: list[str] = [f.md5 or "" for f in files]
        new = [False] * len(files)
        todo = [i for i, f in enumerate(files) if not (f.md5 and self.has_object(f.md5))]
        for start in range(0, len(todo), BATCH):
            staged = self._stage_batch(files, todo[start : start + BATCH], md5s, workers)
            copied = [temp for _, temp, _ in staged if not temp.endswith(".link.tmp")]
            if durable:
                copying.make_durable(copied)
            placed: set[str] = set()
            for index, temp, final in staged:
                if final in placed:  # two files of the batch with the same bytes
                    copying.discard([temp])
                    continue
                copying.place(temp, final)
                placed.add(final)
                new[index] = True
        return md5s, new

    def _stage_batch(
        self, files: list[FileToStore], batch: list[int], md5s: list[str], workers: int
    ) -> list[tuple[int, str, str]]:
        """Stage ``files[i]`` for i in ``batch``: [(index, temp, final)] of those to place."""
        staged: list[tuple[int, str, str]] = []

        def stage(index: int) -> None:
            temp, md5 = self._stage(files[index])
            md5s[index] = md5
            if temp is not None:
                staged.append((index, temp, self.object_path(md5)))  # list.append is atomic

        try:
            if workers == 1 or len(batch) == 1:
                for index in batch:
                    stage(index)
            else:
                with ThreadPoolExecutor(min(workers, len(batch))) as pool:
                    list(pool.map(stage, batch))
        except BaseException:
            copying.discard([temp for _, temp, _ in staged])
            raise
        return staged

    def _stage(self, file: FileToStore) -> tuple[str | None, str]:
        """Link or copy one file to a temporary name in the cache: (temp or None, md5)."""
        if file.md5 is not None:
            final = self.object_path(file.md5)
            if os.path.isfile(final):
                return None, file.md5
            make_folder(final)
            for kind in self.link_types:
                if kind == "copy":
                    break
                temp = copying.temp_name(final).removesuffix(".tmp") + ".link.tmp"
                if link(kind, file.path, temp):
                    return temp, file.md5
            if file.stat is not None:
                try:
                    return copying.copy_unchanged(file.path, final, stat=file.stat), file.md5
                except copying.CorruptObjectError:
                    raise ArtifactError(
                        f"'{file.path}' changed since it was hashed; its bytes were not "
                        "cached. Log it again once whatever writes it has finished."
                    ) from None
        try:
            with open(file.path, "rb") as source:
                # Unknown md5: staged at the objects' root, renamed beside its object below.
                final = self.object_path(file.md5) if file.md5 else str(self.objects / "new")
                temp, md5, _ = copying.write_temp(source, final, expected_md5=file.md5)
        except copying.CorruptObjectError:
            raise ArtifactError(
                f"'{file.path}' changed since it was hashed; its bytes were not cached. "
                "Log it again once whatever writes it has finished."
            ) from None
        except OSError as exc:
            raise ArtifactError(f"Cannot read '{file.path}': {exc.strerror}.") from exc
        if file.md5 is None:
            final = self.object_path(md5)
            if os.path.isfile(final):
                copying.discard([temp])
                return None, md5
            moved = copying.temp_name(final)
            make_folder(final)
            os.replace(temp, moved)
            temp = moved
        return temp, md5

    # -- checking out ------------------------------------------------------------------------

    def checkout(self, digest: str, dest: str | os.PathLike[str]) -> int:
        """Put the artifact's bytes at ``dest`` (replacing what is there); returns files written."""
        oid = oid_of(digest)
        target = os.fspath(dest)
        if not oid.endswith(".dir"):
            place_object(self.object_path(oid), target, self.link_types)
            return 1
        entries = self.read_manifest(digest)
        for entry in entries:
            path = os.path.join(target, *entry.relpath.split("/"))
            place_object(self.object_path(entry.md5), path, self.link_types)
        return len(entries)


__all__ = [
    "DEFAULT_LINK_TYPES",
    "LINK_TYPES",
    "Cache",
    "LinkType",
    "cache_dir",
    "parse_link_types",
]
