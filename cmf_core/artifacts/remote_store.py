"""One remote opened for transfer: its objects, read and written through dvc-objects.

Object paths and the "which of these does the remote have" question come from
dvc-data's ``HashFileDB`` (``oid_to_path``, ``oids_exist``, which lists a
large remote rather than asking once per object). Writing differs by kind:

- **a local folder** — cmf writes the object itself: to a temporary name,
  hashed in the same pass (so a cache object changed behind cmf's back is
  never pushed), synced, renamed (:mod:`cmf_core.artifacts.copying`).
  dvc-objects' ``put_file`` copies to a temporary name and renames too, but
  neither hashes nor syncs, and per-file calls through its generic transfer
  made ``dvc push`` of 10,000 small files 19 s here (bench/bench_artifacts.py).
- **an object store** (S3, GS, Azure, HTTP) — ``fs.put_file`` straight to the
  final key: an upload becomes visible only once complete.
- **anything else** (SSH, …) — ``put_file`` to a temporary name, then ``mv``.

Every error of the remote's library is wrapped once here into an
:class:`~cmf_core.errors.ArtifactError` naming the remote (password hidden).
"""

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from cmf_core.artifacts import copying
from cmf_core.artifacts.layout import OBJECTS, is_oid
from cmf_core.artifacts.remotes import Remote, filesystem_config, local_root
from cmf_core.errors import ArtifactError, CmfError


class RemoteStore:
    """The objects of one remote (see the module docstring)."""

    def __init__(self, remote: Remote) -> None:
        self.remote = remote
        self.is_local = remote.is_local
        self.is_object_store = False
        if self.is_local:  # plain os calls: no import of dvc-objects, fsspec or dvc-data
            self.fs: Any = None
            self.root = local_root(remote)
            self.objects_path = os.path.join(self.root, *OBJECTS)
            return
        from dvc_data.hashfile.db import get_odb
        from dvc_objects.fs.base import ObjectFileSystem

        cls, kwargs, root = filesystem_config(remote)
        try:
            self.fs = cls(**kwargs)
        except CmfError:
            raise
        except Exception as exc:
            raise self.error("cannot be opened", exc) from exc
        self.root = root
        self.objects_path = self.fs.join(root, *OBJECTS)
        self.odb = get_odb(self.fs, self.objects_path)  # type: ignore[no-untyped-call]
        self.is_object_store = isinstance(self.fs, ObjectFileSystem)

    def __repr__(self) -> str:
        return f"RemoteStore({self.remote.name!r}, {self.remote.shown_url!r})"

    def error(self, what: str, exc: BaseException) -> ArtifactError:
        reason = str(exc).strip() or type(exc).__name__
        if isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        for secret in _secrets(self.remote):
            reason = reason.replace(secret, "***")
        return ArtifactError(
            f"Remote {self.remote.name!r} ({self.remote.shown_url}) {what}: {reason}."
        )

    def object_path(self, oid: str) -> str:
        if self.is_local:
            return f"{self.objects_path}{os.sep}{oid[:2]}{os.sep}{oid[2:]}"
        return str(self.odb.oid_to_path(oid))

    def existing(self, oids: Iterable[str], *, jobs: int) -> set[str]:
        """Which of ``oids`` the remote holds."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return set()
        if self.is_local:  # a stat each: faster than any listing
            return {oid for oid in wanted if os.path.isfile(self.object_path(oid))}
        try:
            return set(self.odb.oids_exist(wanted, jobs=jobs))
        except Exception as exc:
            raise self.error("could not be listed", exc) from exc

    def iter_oids(self) -> Iterator[str]:
        """Every object id on the remote."""
        if self.is_local:
            root = self.objects_path
            with contextlib.suppress(FileNotFoundError):
                for prefix in sorted(os.listdir(root)):
                    folder = os.path.join(root, prefix)
                    if len(prefix) == 2 and os.path.isdir(folder):
                        for name in sorted(os.listdir(folder)):
                            if is_oid(prefix + name):
                                yield prefix + name
            return
        try:
            found = list(self.odb.all())
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self.error("could not be listed", exc) from exc
        yield from (oid for oid in found if is_oid(oid))

    def size_of(self, oid: str) -> int:
        if self.is_local:
            try:
                return os.stat(self.object_path(oid)).st_size
            except FileNotFoundError:
                return 0
        try:
            return int(self.fs.size(self.object_path(oid)) or 0)
        except FileNotFoundError:
            return 0
        except Exception as exc:
            raise self.error("could not be read", exc) from exc

    # -- writing -----------------------------------------------------------------------------

    def stage_local(self, source_path: str, oid: str, report: Callable[[int], None] | None) -> str:
        """Local remotes: copy a cache object to a temporary file beside its final name,
        checking its md5 on the way; returns the temporary path (see :meth:`place_local`)."""
        final = self.object_path(oid)
        with open(source_path, "rb") as source:
            temp, _, _ = copying.write_temp(
                source, final, expected_md5=oid.removesuffix(".dir"), report=report
            )
        return temp

    def place_local(self, temp: str, oid: str) -> None:
        copying.place(temp, self.object_path(oid))

    def upload(self, source_path: str, oid: str) -> None:
        """Other remotes: upload a cache object so that it appears only once whole."""
        final = self.object_path(oid)
        try:
            if self.is_object_store:
                self.fs.put_file(source_path, final)
                return
            self.fs.makedirs(self.fs.parent(final), exist_ok=True)
            temp = copying.temp_name(final)
            self.fs.put_file(source_path, temp)
            self.fs.mv(temp, final)
        except Exception as exc:
            raise self.error(f"refused object {oid}", exc) from exc

    def open_object(self, oid: str) -> BinaryIO:
        """The object's bytes as a stream; FileNotFoundError when the remote lacks it."""
        path = self.object_path(oid)
        try:
            if self.is_local:
                return open(path, "rb")  # the caller closes it
            stream: Any = self.fs.open(path, "rb")
            return stream  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise self.error(f"could not send object {oid}", exc) from exc

    def remove(self, oid: str) -> None:
        if self.is_local:
            try:
                os.unlink(self.object_path(oid))
            except FileNotFoundError:
                return
            except OSError as exc:
                raise self.error(f"could not delete object {oid}", exc) from exc
            return
        try:
            self.fs.rm_file(self.object_path(oid))
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self.error(f"could not delete object {oid}", exc) from exc


def _secrets(remote: Remote) -> list[str]:
    from urllib.parse import urlsplit

    found = [v for k, v in remote.options.items() if "secret" in k or "password" in k or "key" in k]
    if "://" in remote.url:
        password = urlsplit(remote.url).password
        if password:
            found.append(password)
    return [s for s in found if len(s) >= 4]


__all__ = ["RemoteStore"]
