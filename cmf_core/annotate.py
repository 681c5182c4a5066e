"""Annotations: labels (``quality = bad``) and notes said about a record after the fact.

An annotation names an execution or an artifact (an id, a digest or a recorded
path, as :func:`~cmf_core.graph.lookup.resolve_reference` reads them), a key,
an optional value and an optional note, with who said it and when. Nothing is
ever edited: a later annotation with the same key supersedes an earlier one
when reading (:func:`labels_of`), and the history keeps both
(:func:`annotation_history`). An annotation without a value clears its label.

::

    cmf.annotate("data/raw.csv", "quality", "bad", note="label noise in batch 3")
"""

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cmf_core.errors import InvalidInputError

if TYPE_CHECKING:
    from cmf_core.graph.lookup import ReferenceKind
    from cmf_core.store import Store
    from cmf_core.store.annotations import Annotation

MAX_KEY = 64
MAX_VALUE = 1_000
MAX_NOTE = 10_000
MAX_AUTHOR = 255
LABELS_SHOWN = 20  # labels per record in listings and lineage nodes; the rest are counted
KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
KEY_RULE = (
    f"a key is 1 to {MAX_KEY} letters, digits, '_', '.' or '-', starting with a letter or "
    "'_' (e.g. quality, stage, deployed.env)"
)


def check_annotation(key: str, value: str | None, note: str | None) -> None:
    """Refuse a key, value or note that cannot be recorded, saying what would do."""
    if not isinstance(key, str) or len(key) > MAX_KEY or not KEY_PATTERN.fullmatch(key):
        raise InvalidInputError(f"Cannot annotate with the key {str(key)[:80]!r}: {KEY_RULE}.")
    if value is not None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(
                f"The value of {key!r} is empty; give some text, or no value to clear the label."
            )
        if len(value) > MAX_VALUE:
            raise InvalidInputError(
                f"The value of {key!r} has {len(value):,} characters; at most {MAX_VALUE:,} "
                "(put longer text in the note)."
            )
        if any(not c.isprintable() for c in value):
            raise InvalidInputError(
                f"The value of {key!r} holds a line break or control character; a value is "
                "one line (put longer text in the note)."
            )
    if note is not None:
        if not isinstance(note, str) or not note.strip():
            raise InvalidInputError("The note is empty; give some text or no note.")
        if len(note) > MAX_NOTE:
            raise InvalidInputError(f"The note has {len(note):,} characters; at most {MAX_NOTE:,}.")
        if "\0" in note:
            raise InvalidInputError("The note holds a NUL character, which cannot be stored.")


def default_author(project_root: Path | None = None) -> str:
    """Who is annotating: Git's ``user.name`` for the project, else the OS user."""
    from cmf_core.git.user import read_user_name

    name = read_user_name(project_root)
    if name is None:
        import getpass

        try:
            name = getpass.getuser()
        except (OSError, KeyError):  # no login name and no passwd entry (some containers)
            name = "unknown"
    return name[:MAX_AUTHOR]


def annotate(
    store: "Store",
    reference: str,
    key: str,
    value: str | None = None,
    *,
    note: str | None = None,
    author: str | None = None,
    project_root: Path | None = None,
    cwd: Path | None = None,
) -> "Annotation":
    """Record one annotation on the execution or artifact ``reference`` names; returns it."""
    from cmf_core.graph.lookup import resolve_reference

    check_annotation(key, value, note)
    if author is not None and (not author.strip() or len(author) > MAX_AUTHOR):
        raise InvalidInputError(f"An author is 1 to {MAX_AUTHOR} characters.")
    kind, target = resolve_reference(store, reference, project_root=project_root, cwd=cwd)
    return store.insert_annotation(
        target_kind=kind,
        target_key=target,
        key=key,
        value=value,
        note=note,
        author=author.strip() if author else default_author(project_root),
    )


def annotation_history(
    store: "Store", kind: "ReferenceKind", target: str, *, key: str | None = None
) -> list["Annotation"]:
    """Every annotation of one record (its full id or digest), oldest first."""
    return store.annotation_history(kind, target, key=key)


def labels_of(
    store: "Store", kind: "ReferenceKind", targets: Sequence[str], *, limit: int = LABELS_SHOWN
) -> dict[str, dict[str, str]]:
    """The current labels of each record (full ids or digests), at most ``limit`` per record
    (by key); records without labels are absent."""
    found = store.labels_for(kind, targets)
    return {target: dict(sorted(labels.items())[:limit]) for target, labels in found.items()}


__all__ = [
    "LABELS_SHOWN",
    "MAX_KEY",
    "MAX_NOTE",
    "MAX_VALUE",
    "annotate",
    "annotation_history",
    "check_annotation",
    "default_author",
    "labels_of",
]
