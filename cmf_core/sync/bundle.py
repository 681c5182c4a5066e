"""Offline bundles: metadata carried on a disk to and from sites with no network.

A bundle is gzip-compressed JSON lines::

    {"format": "cmf-bundle", "version": 1, "site": …, "pipeline": …, "since": N, …}
    {"records": {…}}         one line per journal page: a self-contained SyncBatch
    …
    {"end": {"lines": K, "sha256": "…", "until": M}}

The last line counts the lines before it and carries the SHA-256 of their
bytes, so a truncated or altered bundle is refused whole — every line is read
and checked before the first one is merged — and the error names the line.
Pages then merge one transaction each with the rules of any other merge, so an
import is idempotent and an interrupted one converges when run again. ``until``
is the exporting store's journal position: ``--since`` it for the next bundle.
"""

import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cmf_core.errors import Kind, SyncError
from cmf_core.store import Store
from cmf_core.store.batch import MergeSummary, Tally
from cmf_core.store.merge import merge_records
from cmf_core.sync.wire import FORMAT_VERSION, SyncBatch

FORMAT = "cmf-bundle"
PAGE = 1000


@dataclass(frozen=True)
class BundleReport:
    """An export's or an import's account: lines, records, the journal span, the merge."""

    path: str
    lines: int
    records: int
    since: int
    until: int
    summary: MergeSummary | None = None


def export_bundle(
    store: Store,
    path: Path,
    *,
    pipeline: str | None = None,
    since: int = 0,
    site: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BundleReport:
    """Write the records journaled after ``since`` (of one pipeline, or all) to ``path``.

    The file appears only when complete (written beside it, then renamed).
    """
    if since < 0:
        raise SyncError("--since takes a journal position (0 or more), as printed by an export.")
    partial = path.with_name(path.name + ".partial")
    digest = hashlib.sha256()
    lines = records = 0
    cursor = since
    try:
        with gzip.open(partial, "wb") as raw:
            header = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "created_at": datetime.now(UTC).isoformat(),
                "site": site,
                "pipeline": pipeline,
                "since": since,
            }
            _write_line(raw, json.dumps(header).encode(), digest)
            lines += 1
            latest = store.latest_seq()
            while True:
                page = store.changes_after(cursor, limit=PAGE, pipeline=pipeline)
                if len(page.records):
                    body = SyncBatch.of(page.records).model_dump_json()
                    _write_line(raw, b'{"records":' + body.encode() + b"}", digest)
                    lines += 1
                    records += len(page.records)
                cursor = page.last
                if progress is not None:
                    progress(min(cursor, latest) - since, max(latest - since, 0))
                if not page.more:
                    break
            end = {"end": {"lines": lines, "sha256": digest.hexdigest(), "until": cursor}}
            raw.write(json.dumps(end).encode() + b"\n")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise SyncError(
            f"Cannot write the bundle {{path}}: {exc.strerror or exc}. Check the folder and "
            "the free space.",
            kind=Kind.PATH,
            path=str(path),
        ) from exc
    return BundleReport(str(path), lines + 1, records, since, cursor)


def import_bundle(
    store: Store, path: Path, *, progress: Callable[[int, int], None] | None = None
) -> BundleReport:
    """Check the whole bundle at ``path``, then merge it page by page."""
    header, end, pages = _check(path)
    tally = Tally()
    records = 0
    for number, line in _lines(path):
        if not 1 < number <= pages + 1:
            continue
        batch = SyncBatch.model_validate_json(_records_of(line)).batch()
        tally.add_summary(
            merge_records(store, batch, origin="bundle", source=f"bundle {path.name}")
        )
        records += len(batch)
        if progress is not None:
            progress(number - 1, pages)
    return BundleReport(
        str(path), pages + 2, records, header["since"], end["until"], tally.summary()
    )


def _write_line(raw: gzip.GzipFile, line: bytes, digest: Any) -> None:
    data = line + b"\n"
    digest.update(data)
    raw.write(data)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line without its newline); gzip and read errors as SyncError."""
    number = 0
    try:
        with gzip.open(path, "rb") as raw:
            for number, line in enumerate(raw, start=1):
                yield number, line.rstrip(b"\n")
    except FileNotFoundError:
        raise SyncError("No bundle at {path}.", kind=Kind.PATH, path=str(path)) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise SyncError(
            f"The bundle {{path}} is truncated or not a gzip file (after line {number}: "
            f"{exc}); nothing was imported. Copy it again from its source.",
            kind=Kind.PATH,
            path=str(path),
        ) from exc


def _check(path: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    """The header, the end line and the number of record lines, once every line has been
    checked."""
    digest = hashlib.sha256()
    header: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    count = 0
    for number, line in _lines(path):
        if end is not None:
            raise _corrupt(path, number, "there are lines after the end line")
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise _corrupt(path, number, f"not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise _corrupt(path, number, "not a JSON object")
        if number == 1:
            header = _header(path, value)
        elif "end" in value:
            end = value["end"] if isinstance(value["end"], dict) else {}
            if end.get("lines") != count or end.get("sha256") != digest.hexdigest():
                raise _corrupt(path, number, "its checksum or line count does not match")
            if not isinstance(end.get("until"), int):
                raise _corrupt(path, number, "the end line's 'until' is not a number")
            continue
        else:
            try:
                SyncBatch.model_validate_json(_records_of(line))
            except (ValidationError, ValueError) as exc:
                raise _corrupt(path, number, _first_problem(exc)) from None
        count += 1
        digest.update(line + b"\n")
    if header is None:
        raise _corrupt(path, 1, "the file is empty")
    if end is None:
        raise _corrupt(path, count + 1, "the end line is missing: the bundle is truncated")
    return header, end, count - 1


def _header(path: Path, value: dict[str, Any]) -> dict[str, Any]:
    if value.get("format") != FORMAT:
        raise _corrupt(path, 1, "this is not a cmf bundle (no cmf-bundle header)")
    version = value.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SyncError(
            f"The bundle {{path}} has format version {version!r}; this cmf reads up to "
            f"{FORMAT_VERSION}: upgrade cmf (pip install -U cmf).",
            kind=Kind.PATH,
            path=str(path),
        )
    if not isinstance(value.get("since"), int):
        raise _corrupt(path, 1, "the header's 'since' is not a number")
    return value


def _records_of(line: bytes) -> bytes:
    prefix, suffix = b'{"records":', b"}"
    if not (line.startswith(prefix) and line.endswith(suffix)):
        raise ValueError('a record line is {"records": {…}}')
    return line[len(prefix) : -len(suffix)]


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{exc.error_count()} invalid value(s), first at {where}: {first['msg']}"
    return str(exc)


def _corrupt(path: Path, line: int, why: str) -> SyncError:
    return SyncError(
        f"The bundle {{path}} is damaged at line {line}: {why}. Nothing was imported; copy "
        "it again from its source or export it anew.",
        kind=Kind.PATH,
        path=str(path),
    )


__all__ = ["BundleReport", "export_bundle", "import_bundle"]
