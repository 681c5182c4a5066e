"""`labels.KEY` in the filter language: the newest annotation of a key, on both backends."""

from pathlib import Path

import pytest

from cmf_core.search.filters import FilterSyntaxError, parse_filter
from cmf_core.search.help import filter_help
from cmf_core.search.search import search_artifacts, search_executions
from cmf_core.tracking import Cmf


def ids(store_url: str, where: str) -> list[str]:
    with Cmf(pipeline="p", store=store_url, capture_git=False) as cmf:
        return sorted(e.id for e in search_executions(cmf.store, where).items)


@pytest.fixture
def runs(bare_project: Path, store_url: str) -> dict[str, str]:
    """Three runs: a labelled prod, b labelled prod then staging, c labelled nothing."""
    (bare_project / "raw.csv").write_text("x\n")
    (bare_project / "clean.csv").write_text("y\n")
    with Cmf(pipeline="p", store=store_url, capture_git=False, capture_environment=False) as cmf:
        found = {}
        for name in "abc":
            with cmf.execution(stage="train") as run:
                run.log_dataset("raw.csv" if name == "a" else "clean.csv", event="input")
            found[name] = run.id
        cmf.annotate(found["a"], "stage", "prod")
        cmf.annotate(found["b"], "stage", "prod")
        cmf.annotate(found["b"], "stage", "staging")
        cmf.annotate(found["b"], "owner", "ana")
        cmf.annotate("raw.csv", "quality", "bad")
        cmf.annotate("clean.csv", "quality", "bad")
        cmf.annotate("clean.csv", "quality", note="fixed in v2")  # cleared
    return found


def test_labels_filter_executions_by_their_newest_value(
    runs: dict[str, str], store_url: str
) -> None:
    a, b, c = runs["a"], runs["b"], runs["c"]
    assert ids(store_url, 'labels.stage = "prod"') == [a]
    assert ids(store_url, 'labels.stage = "staging"') == [b]
    assert ids(store_url, 'labels.stage != "prod"') == [b]  # missing is false, as elsewhere
    assert ids(store_url, 'not labels.stage = "prod"') == sorted([b, c])
    assert ids(store_url, "labels.stage is null") == [c]
    assert ids(store_url, "labels.owner is not null") == [b]
    assert ids(store_url, 'labels.stage in ("prod", "staging")') == sorted([a, b])
    assert ids(store_url, 'labels.stage glob "stag*"') == [b]
    assert ids(store_url, 'labels.stage like "pr%" and stage = "train"') == [a]


def test_labels_filter_artifacts_and_a_cleared_label_no_longer_matches(
    runs: dict[str, str], store_url: str
) -> None:
    with Cmf(pipeline="p", store=store_url, capture_git=False) as cmf:
        bad = search_artifacts(cmf.store, 'labels.quality = "bad"').items
        unlabelled = search_artifacts(cmf.store, "labels.quality is null").items
    assert [hit.path for hit in bad] == ["raw.csv"]
    assert [hit.path for hit in unlabelled] == ["clean.csv"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("labels.stage = 1", 'a label is text; quote the value: labels.stage = "1"'),
        ("labels.stage = true", "a label is text"),
        ("labels = 1", "name one of the labels"),
    ],
)
def test_label_conditions_take_text(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError, match=message):
        parse_filter(text, "executions")


def test_the_help_names_labels_for_both_targets() -> None:
    assert "labels.NAME" in filter_help("executions")
    assert "labels.NAME" in filter_help("artifacts")
