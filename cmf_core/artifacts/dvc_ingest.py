"""Record a DVC project's runs in cmf: ``cmf dvc ingest``.

Two sources, both read as DVC wrote them (digests taken from the files, no
bytes read, so ingesting costs the same whatever the data's size):

- **``dvc.lock``** (with ``dvc.yaml`` beside it): each stage's last run
  becomes one completed execution of that stage, its ``cmd`` the command,
  its ``params`` the parameters (``file:key`` → value, as DVC names them), its
  ``deps`` input artifacts and its ``outs`` output artifacts.
- **``*.dvc`` files** (what ``dvc add`` writes): each becomes one execution of
  the stage ``add`` whose outputs are the file's ``outs``.

Paths are recorded relative to the project root, as DVC wrote them relative
to the file's folder. Ingesting again records nothing new: each execution
carries ``dvc_source`` (the file and stage) and ``dvc_entry`` (the md5 of the
entry as read), and an execution with the same pair is not recorded twice.
The bytes themselves stay where DVC keeps them (``.dvc/cache``, its
remotes), which is where cmf looks in a DVC repository: ``cmf artifact pull``
then fetches them.
"""

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from cmf_core.errors import ConfigError, InvalidInputError
from cmf_core.records import ArtifactType, EventDirection, ExecutionStatus, Record

if TYPE_CHECKING:
    from cmf_core.store import Store

SKIPPED_DIRS = frozenset({".git", ".dvc", ".cmf", ".venv", "node_modules"})


class IngestReport(Record):
    pipeline: str
    executions: int  # recorded now
    unchanged: int  # already recorded by an earlier ingest
    artifacts: int


def ingest_dvc(
    store: "Store", project_root: Path, *, pipeline: str | None = None, site: str | None = None
) -> IngestReport:
    """Record the runs of ``dvc.lock`` and the ``*.dvc`` files under ``project_root``."""
    from cmf_core.ids import Uuid7Generator

    name = pipeline or project_root.name
    ids = Uuid7Generator()
    recorded = unchanged = artifacts = 0
    for entry in _entries(project_root):
        source, stage, command, params, deps, outs = entry
        marker = hashlib.md5(
            json.dumps([command, params, deps, outs], sort_keys=True).encode(),
            usedforsecurity=False,
        ).hexdigest()
        if _already(store, name, stage, source, marker):
            unchanged += 1
            continue
        stage_id = store.ensure_stage(name, stage)
        execution_id = ids.new()
        store.start_execution(
            id=execution_id,
            stage_id=stage_id,
            command=command,
            params=params,
            properties={"dvc_source": source, "dvc_entry": marker},
            site=site,
        )
        for direction, outputs in ((EventDirection.INPUT, deps), (EventDirection.OUTPUT, outs)):
            for item in outputs:
                _record(store, execution_id, direction, item)
                artifacts += 1
        store.end_execution(execution_id, status=ExecutionStatus.COMPLETED)
        recorded += 1
    return IngestReport(
        pipeline=name, executions=recorded, unchanged=unchanged, artifacts=artifacts
    )


_Entry = tuple[str, str, str, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]


def _entries(root: Path) -> Iterator[_Entry]:
    lock = root / "dvc.lock"
    if lock.is_file():
        data = _yaml(lock)
        for stage, body in (data.get("stages") or {}).items():
            if not isinstance(body, dict):
                raise ConfigError(f"Stage {stage!r} of {lock} is not a mapping.")
            params = {
                f"{file}:{key}": value
                for file, values in (body.get("params") or {}).items()
                for key, value in (values or {}).items()
            }
            command = body.get("cmd", "")
            command = " && ".join(command) if isinstance(command, list) else str(command)
            yield (
                "dvc.lock",
                str(stage),
                command,
                params,
                _items(body.get("deps"), PurePosixPath(), lock),
                _items(body.get("outs"), PurePosixPath(), lock),
            )
    for path in _dvc_files(root):
        relative = PurePosixPath(path.relative_to(root).as_posix())
        outs = _items(_yaml(path).get("outs"), relative.parent, path)
        command = "dvc add " + " ".join(item["path"] for item in outs)
        yield (relative.as_posix(), "add", command, {}, [], outs)


def _dvc_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        found.extend(Path(folder) / f for f in sorted(files) if f.endswith(".dvc"))
    return found


def _items(raw: Any, base: PurePosixPath, source: Path) -> list[dict[str, Any]]:
    """DVC's dep/out entries as {path, digest, size, nfiles}; entries without an md5 are left
    out (a stage's params file, an external URL DVC does not hash)."""
    items = []
    for item in raw or []:
        if not isinstance(item, dict) or "path" not in item:
            raise ConfigError(f"{source} has an entry without a path: {item!r}.")
        md5 = item.get("md5")
        if not isinstance(md5, str) or len(md5.removesuffix(".dir")) != 32:
            continue
        path = (base / str(item["path"])).as_posix()
        items.append(
            {
                "path": path.removeprefix("./"),
                "digest": f"md5:{md5}",
                "size": item.get("size"),
                "nfiles": item.get("nfiles"),
            }
        )
    return items


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read {path}: {exc}.") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a DVC file (it holds no mapping).")
    return data


def _already(store: "Store", pipeline: str, stage: str, source: str, marker: str) -> bool:
    if pipeline not in {p.name for p in store.list_pipelines()}:
        return False
    done = store.list_executions(pipeline=pipeline, stage=stage, limit=1000)
    return any(
        e.properties.get("dvc_source") == source and e.properties.get("dvc_entry") == marker
        for e in done
    )


def _record(
    store: "Store", execution_id: str, direction: EventDirection, item: dict[str, Any]
) -> None:
    from cmf_core.store import ArtifactRow

    digest = item["digest"]
    if not isinstance(item["size"], int | None):
        raise InvalidInputError(f"The size of {item['path']} is not a number.")
    store.record_artifact(
        ArtifactRow(
            digest=digest,
            type=ArtifactType.DATASET.value,
            size=item["size"],
            nfiles=item["nfiles"] if digest.endswith(".dir") else None,
            properties={},
        ),
        execution_id=execution_id,
        direction=direction,
        path=item["path"],
    )


__all__ = ["IngestReport", "ingest_dvc"]
