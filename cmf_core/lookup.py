"""Resolve what a person typed — an execution id, a digest, a path — to one record."""

from pathlib import Path

from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.records import ArtifactDetail, ExecutionDetail
from cmf_core.store import Store


def describe(
    store: Store, reference: str, *, project_root: Path, cwd: Path | None = None
) -> ExecutionDetail | ArtifactDetail:
    """The execution or artifact ``reference`` names (id or prefix, digest or prefix, or path).

    A path is looked up as recorded (relative to the project root); its newest
    recorded version is returned. A bare hex prefix that matches both an
    execution and an artifact is refused as ambiguous.
    """
    reference = reference.strip()
    if not reference:
        raise InvalidInputError("Name an execution id, an artifact digest or a path.")
    if reference.lower().startswith("md5:"):
        return store.get_artifact_detail(reference)
    path_digests = _digests_for_path(store, reference, project_root, cwd or Path.cwd())
    if path_digests:
        return store.get_artifact_detail(path_digests[0])
    found: list[ExecutionDetail | ArtifactDetail] = []
    problems: list[str] = []
    for get in (store.get_execution_detail, store.get_artifact_detail):
        try:
            found.append(get(reference))
        except NotFoundError:
            continue
        except InvalidInputError as exc:
            problems.append(str(exc))
    if len(found) == 1 and not problems:
        return found[0]
    if problems:
        raise InvalidInputError(" ".join(problems))
    if found:
        raise InvalidInputError(
            f"{reference!r} is the start of an execution id and of an artifact digest; "
            "give more characters, or write the digest as md5:…"
        )
    raise NotFoundError(
        f"Nothing recorded matches {reference!r} (as an execution id, a digest or a path); "
        "`cmf ls executions` and `cmf ls artifacts` list what there is."
    )


def _digests_for_path(store: Store, reference: str, root: Path, cwd: Path) -> list[str]:
    candidate = Path(reference)
    absolute = candidate if candidate.is_absolute() else cwd / candidate
    try:
        relative = absolute.resolve().relative_to(root.resolve()).as_posix()
    except (OSError, ValueError):
        relative = reference
    digests = store.find_artifacts_by_path(relative)
    return digests or (store.find_artifacts_by_path(reference) if relative != reference else [])
