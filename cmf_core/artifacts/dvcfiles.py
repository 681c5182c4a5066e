"""``.dvc`` files for logged artifacts, so people who work in DVC can ``dvc pull`` them.

With ``track_with_dvc`` (``Cmf(track_with_dvc=True)``, ``cmf run --dvc``), each
artifact logged inside the project gets what ``dvc add`` would have written:
``<path>.dvc`` beside it, naming the bytes by md5 (``.dir`` for a directory)
with their size (and file count), and the path in the folder's ``.gitignore``::

    outs:
    - md5: 3f2a…
      size: 1024
      hash: md5
      path: train.csv

Commit the ``.dvc`` file; ``cmf artifact push`` to the DVC repo's remote sends
the bytes, and ``dvc pull`` in a clone gets them back.
"""

import json
import re
from pathlib import Path

from cmf_core.artifacts.copying import write_error
from cmf_core.artifacts.layout import oid_of

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")


def _yaml_string(text: str) -> str:
    """``text`` as a YAML scalar: bare when plainly safe, else a JSON string (valid YAML)."""
    return (
        text
        if _PLAIN.fullmatch(text) and text not in ("null", "true", "false")
        else json.dumps(text)
    )


def dvc_file_text(name: str, digest: str, size: int | None, nfiles: int | None) -> str:
    """The ``.dvc`` file DVC 3 writes for ``name`` (a file or folder name) with these bytes."""
    lines = ["outs:", f"- md5: {oid_of(digest)}"]
    if size is not None:
        lines.append(f"  size: {size}")
    if nfiles is not None:
        lines.append(f"  nfiles: {nfiles}")
    lines += ["  hash: md5", f"  path: {_yaml_string(name)}"]
    return "\n".join(lines) + "\n"


def write_dvc_file(path: Path, digest: str, size: int | None, nfiles: int | None) -> Path:
    """Write ``<path>.dvc`` and add ``/<name>`` to the folder's ``.gitignore``; returns the file."""
    path = Path(path)
    target = path.with_name(path.name + ".dvc")
    ignore = path.parent / ".gitignore"
    entry = "/" + path.name
    try:
        target.write_text(dvc_file_text(path.name, digest, size, nfiles), encoding="utf-8")
        known = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
        if entry not in known:
            prefix = "" if not known or ignore.read_text(encoding="utf-8").endswith("\n") else "\n"
            with ignore.open("a", encoding="utf-8") as stream:
                stream.write(f"{prefix}{entry}\n")
    except OSError as exc:
        raise write_error(str(target), exc) from exc
    return target


__all__ = ["dvc_file_text", "write_dvc_file"]
