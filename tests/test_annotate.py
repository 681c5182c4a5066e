"""Cmf.annotate: labels and notes on executions and artifacts, append-only, from Python."""

from pathlib import Path

import pytest

from cmf_core.annotate import annotation_history, labels_of
from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.tracking import Cmf
from tests.conftest import git


def record(cmf: Cmf, root: Path) -> tuple[str, str]:
    """One training run reading data/raw.csv; (execution id, the data's digest)."""
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "raw.csv").write_text("a,b\n1,2\n")
    with cmf.execution(stage="train", params={"lr": 0.1}) as run:
        data = run.log_dataset("data/raw.csv", event="input")
    return run.id, data.digest


def open_cmf(store_url: str, *, capture_git: bool = False) -> Cmf:
    return Cmf(
        pipeline="fraud", store=store_url, capture_git=capture_git, capture_environment=False
    )


def test_labels_on_an_artifact_by_path_and_an_execution_by_prefix(
    project: Path, store_url: str
) -> None:
    git(project, "config", "user.name", "Ana Lima")
    with open_cmf(store_url, capture_git=True) as cmf:
        run_id, digest = record(cmf, project)
        first = cmf.annotate("data/raw.csv", "quality", "good")
        second = cmf.annotate(digest[:12], "quality", "bad", note="label noise in batch 3")
        on_run = cmf.annotate(run_id[:13], "verdict", "dead-end", author="ben")
        labels = labels_of(cmf.store, "artifact", [digest])
        run_labels = labels_of(cmf.store, "execution", [run_id])
        history = annotation_history(cmf.store, "artifact", digest)
    assert (first.target_kind, first.target_key, first.author) == ("artifact", digest, "Ana Lima")
    assert (second.value, second.note) == ("bad", "label noise in batch 3")
    assert (on_run.target_kind, on_run.target_key, on_run.author) == ("execution", run_id, "ben")
    assert labels == {digest: {"quality": "bad"}}
    assert run_labels == {run_id: {"verdict": "dead-end"}}
    assert [(a.value, a.note) for a in history] == [
        ("good", None),
        ("bad", "label noise in batch 3"),
    ]


def test_no_value_clears_a_label_and_keeps_its_history(bare_project: Path, store_url: str) -> None:
    with open_cmf(store_url) as cmf:
        run_id, _ = record(cmf, bare_project)
        cmf.annotate(run_id, "stage", "prod")
        cmf.annotate(run_id, "stage", note="rolled back")
        cmf.annotate(run_id, "owner", "ana")
        labels = labels_of(cmf.store, "execution", [run_id])
        history = annotation_history(cmf.store, "execution", run_id, key="stage")
        author = history[0].author
    assert labels == {run_id: {"owner": "ana"}}
    assert [a.value for a in history] == ["prod", None]
    assert author  # no Git here: the OS user


@pytest.mark.parametrize(
    ("key", "value", "note", "message"),
    [
        ("", "x", None, "Cannot annotate with the key ''"),
        ("has space", "x", None, "letters, digits"),
        ("9lives", "x", None, "starting with a letter"),
        ("k" * 65, "x", None, "1 to 64"),
        ("quality", "", None, "empty"),
        ("quality", "two\nlines", None, "one line"),
        ("quality", "x" * 1001, None, "at most 1,000"),
        ("quality", "x", "n" * 10_001, "at most 10,000"),
        ("quality", "x", "  ", "The note is empty"),
    ],
)
def test_bad_input_is_refused_and_records_nothing(
    bare_project: Path, sqlite_url: str, key: str, value: str, note: str | None, message: str
) -> None:
    with open_cmf(sqlite_url) as cmf:
        run_id, _ = record(cmf, bare_project)
        with pytest.raises(InvalidInputError, match=message):
            cmf.annotate(run_id, key, value, note=note)
        assert annotation_history(cmf.store, "execution", run_id) == []


def test_an_unknown_reference_names_what_to_do(bare_project: Path, sqlite_url: str) -> None:
    with open_cmf(sqlite_url) as cmf:
        record(cmf, bare_project)
        with pytest.raises(NotFoundError, match="No artifact was logged under the path"):
            cmf.annotate("data/missing.csv", "quality", "bad")


def test_labels_shown_per_record_are_bounded(bare_project: Path, sqlite_url: str) -> None:
    with open_cmf(sqlite_url) as cmf:
        run_id, _ = record(cmf, bare_project)
        for i in range(25):
            cmf.annotate(run_id, f"k{i:02}", "v")
        shown = labels_of(cmf.store, "execution", [run_id])[run_id]
        everything = cmf.store.labels_for("execution", [run_id])[run_id]
    assert list(shown) == [f"k{i:02}" for i in range(20)]
    assert len(everything) == 25
