"""The environment an execution ran in: Python, platform and installed packages.

:func:`capture_environment` describes the running interpreter as a small JSON
document and names it by the md5 of its canonical bytes, so every execution
that ran in the same environment, on any machine, points at the same digest
and the store keeps the document once.

What the document holds, and what it leaves out on purpose:

* ``python``: ``version`` ("3.11.7") and ``implementation`` ("CPython").
  Not the executable's path (a checkout's ``.venv/bin/python`` differs per user
  and per checkout) nor the compiler banner of ``sys.version`` (two builds of
  one Python version would never match).
* ``platform``: ``system`` ("Linux"), ``machine`` ("x86_64") and, on Linux,
  ``libc`` ("glibc 2.36"), which decides which compiled wheels run. Not the
  host name, nor the kernel ``release``: the same container image on two
  hosts reports each host's kernel, and the environment would never dedupe.
* ``packages``: every installed distribution as ``{name: version}``, names
  normalised as PEP 503 says (``Typing_Extensions`` -> ``typing-extensions``).
  When a name is installed twice on ``sys.path`` the first one wins, as it
  does for ``import``.

Package versions come from ``importlib.metadata``, imported on first capture
(it pulls in ``email`` and ``zipfile``: ~30 ms that ``import cmf_core`` should
not pay). Only the header of each ``METADATA`` file is parsed:
``Distribution.metadata`` parses the whole file, long description included,
which is eight times slower (~45 ms against ~5 ms for 150 distributions).
"""

import hashlib
import json
import os
import platform
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cmf_core.digest import file_digest

if TYPE_CHECKING:  # pragma: no cover - typing only
    from importlib.metadata import Distribution

__all__ = ["EnvironmentInfo", "capture_environment"]

_SEPARATOR_RUN = re.compile(r"[-_.]+")


@dataclass(frozen=True, slots=True)
class EnvironmentInfo:
    """An environment document and its digest. Treat ``document`` as read-only."""

    digest: str
    """``md5:<32 hex>`` of :meth:`canonical_json`."""
    document: dict[str, Any]
    """``{"python": {...}, "platform": {...}, "packages": {name: version}}``."""

    def canonical_json(self) -> bytes:
        """The bytes the digest is computed from: sorted keys, no spaces, UTF-8."""
        return _canonical_json(self.document)


def capture_environment() -> EnvironmentInfo:
    """Describe the running interpreter; the same environment always gives the same digest."""
    document: dict[str, Any] = {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "platform": _describe_platform(),
        "packages": _installed_packages(),
    }
    digest = hashlib.md5(_canonical_json(document), usedforsecurity=False).hexdigest()
    return EnvironmentInfo(digest=file_digest(digest), document=document)


def _normalize_name(name: str) -> str:
    """A distribution name as PEP 503 compares it: lower case, runs of ``-_.`` as ``-``."""
    return _SEPARATOR_RUN.sub("-", name).lower()


def _canonical_json(document: dict[str, Any]) -> bytes:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _describe_platform() -> dict[str, str]:
    described = {"system": platform.system(), "machine": platform.machine()}
    if described["system"] == "Linux":
        libc, version = _libc_version()
        if libc:
            described["libc"] = f"{libc} {version}"
    return described


def _libc_version() -> tuple[str, str]:
    try:  # glibc answers at once; platform.libc_ver() would scan the interpreter binary
        answer = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        answer = None
    if answer:
        name, _, version = answer.partition(" ")
        return name, version
    return platform.libc_ver()


def _installed_packages() -> dict[str, str]:
    from importlib import metadata  # ~30 ms to import (email, zipfile): only when capturing

    packages: dict[str, str] = {}
    for distribution in metadata.distributions():
        name, version = _read_name_and_version(distribution)
        if name is None or version is None:
            continue  # a broken install without metadata; pip ignores it too
        packages.setdefault(_normalize_name(name), version)
    return dict(sorted(packages.items()))


def _read_name_and_version(distribution: "Distribution") -> tuple[str | None, str | None]:
    """``Name`` and ``Version`` from the metadata header, which ends at the first blank line."""
    text = distribution.read_text("METADATA") or distribution.read_text("PKG-INFO") or ""
    name = version = None
    for line in text.splitlines():
        if not line:
            break
        key, _, value = line.partition(":")
        key = key.lower()
        if key == "name":
            name = value.strip()
        elif key == "version":
            version = value.strip()
        if name is not None and version is not None:
            break
    return name, version
