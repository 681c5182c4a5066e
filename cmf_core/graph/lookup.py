"""Resolve what a person or a model typed — an execution id, a digest, a path — to one record.

Ids and digests may be unique prefixes; a path is looked up as recorded
(relative to the project root) and names its newest recorded version. Unknown
references get the nearest recorded ones as suggestions.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cmf_core.errors import InvalidInputError, Kind, NotFoundError
from cmf_core.records import ArtifactDetail, ExecutionDetail

if TYPE_CHECKING:
    from cmf_core.store import Store

ReferenceKind = Literal["artifact", "execution"]
HEX = set("0123456789abcdef-")


def resolve_reference(
    store: "Store", reference: str, *, project_root: Path | None = None, cwd: Path | None = None
) -> tuple[ReferenceKind, str]:
    """(kind, id) of what ``reference`` names: a digest or prefix, an execution id or
    prefix, or a path an artifact was logged under (its newest version)."""
    ref = reference.strip()
    if not ref:
        raise InvalidInputError("Name an artifact (digest, prefix or path) or an execution id.")
    if ref.lower().startswith("md5:"):
        return "artifact", store.resolve_digest(ref)
    looks_like_id = set(ref.lower()) <= HEX
    if not looks_like_id:
        digests = _path_digests(store, ref, project_root, cwd)
        if digests:
            return "artifact", digests[0]
        raise NotFoundError(
            "No artifact was logged under the path '{path}'.",
            kind=Kind.ARTIFACT,
            reference=ref,
            path=ref,
        )
    found: list[tuple[ReferenceKind, str]] = []
    problems: list[str] = []
    kinds: tuple[ReferenceKind, ReferenceKind] = ("execution", "artifact")
    for kind, resolve in zip(
        kinds, (store.resolve_execution_id, store.resolve_digest), strict=True
    ):
        try:
            found.append((kind, resolve(ref)))
        except NotFoundError:
            continue
        except InvalidInputError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidInputError(" ".join(problems))
    if len(found) == 1:
        return found[0]
    if found:
        raise InvalidInputError(
            f"{ref!r} starts both an execution id and an artifact digest; give more "
            "characters, or write the digest as md5:…"
        )
    digests = _path_digests(store, ref, project_root, cwd)
    if digests:
        return "artifact", digests[0]
    near = store.near_matches(ref)
    hint = f" (nearest recorded: {', '.join(near)})" if near else ""
    raise NotFoundError(
        f"Nothing recorded matches {ref!r} as an execution id, a digest or a path{hint}.",
        kind=Kind.REFERENCE,
        reference=ref,
        matches=near,
    )


def _path_digests(store: "Store", ref: str, root: Path | None, cwd: Path | None) -> list[str]:
    relative = ref
    if root is not None:
        given = Path(ref)
        absolute = given if given.is_absolute() else (cwd or Path.cwd()) / given
        try:
            relative = absolute.resolve().relative_to(root.resolve()).as_posix()
        except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
            relative = ref
    digests = store.find_artifacts_by_path(relative)
    return digests or (store.find_artifacts_by_path(ref) if relative != ref else [])


def describe(
    store: "Store",
    reference: str,
    *,
    project_root: Path,
    cwd: Path | None = None,
    events_limit: int | None = None,
    events_offset: int = 0,
) -> ExecutionDetail | ArtifactDetail:
    """The execution or artifact ``reference`` names, with its events and metrics; an
    artifact's events a page at a time when ``events_limit`` is given."""
    kind, key = resolve_reference(store, reference, project_root=project_root, cwd=cwd)
    if kind == "execution":
        return store.get_execution_detail(key)
    return store.get_artifact_detail(key, events_limit=events_limit, events_offset=events_offset)
