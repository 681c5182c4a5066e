"""Streamed exports: OpenLineage as JSON Lines and PROV-JSON section by section.

Each stream is held to the in-memory export built with the reference library
(openlineage-python, prov) on the same store: the same event lines, byte for
byte, and the same PROV records. The store is read in pages of ``runs.BATCH``
executions, and a chunk is written before the next page is read.
"""

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prov.model import ProvDocument
from test_export import runs, store, validator  # noqa: F401 (fixtures)
from test_lineage import Graph, digest

from cmf_core.errors import NotFoundError
from cmf_core.graph import export
from cmf_core.graph.export import runs as export_runs
from cmf_core.graph.export.prov_stream import typed_int
from cmf_core.graph.lineage import ArtifactNode, lineage
from cmf_core.records import EventDirection
from cmf_core.store import Store
from cmf_core.store.export_reads import ExportArtifact, ExportEvent, ExportRun
from cmf_mcp.cli.main import cli


def reference_lines(source: Store, **selection: Any) -> list[str]:
    return [
        json.dumps(event, ensure_ascii=False) + "\n"
        for event in export.to_openlineage(source, **selection)
    ]


def prov_of(text: str) -> ProvDocument:
    return ProvDocument.deserialize(content=text, format="json")


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_runs, "BATCH", 2)  # 5 runs, 6 artifacts: pages are crossed


def test_openlineage_stream_writes_the_reference_events_line_for_line(
    runs: Graph,  # noqa: F811
    small_pages: None,
) -> None:
    for selection, pages in (({}, 3), ({"pipeline": "fraud"}, 2), ({"namespace": "team"}, 3)):
        chunks = list(export.stream_openlineage(runs.store, **selection))
        assert len(chunks) == pages  # one chunk per page of 2 executions
        assert "".join(chunks).splitlines(keepends=True) == reference_lines(runs.store, **selection)
    check = validator("openlineage-run-event.json")
    for line in "".join(export.export_lineage(runs.store, "openlineage")).splitlines():
        check.validate(json.loads(line))


def test_prov_stream_is_one_document_with_the_reference_records(
    runs: Graph,  # noqa: F811
    small_pages: None,
) -> None:
    for pipeline in (None, "fraud", "churn"):
        text = "".join(export.stream_prov(runs.store, pipeline=pipeline))
        document = json.loads(text)
        validator("prov-json.json").validate(document)
        reference = export.to_prov(runs.store, pipeline=pipeline)
        assert prov_of(text) == prov_of(reference)
        assert {k: len(v) for k, v in document.items()} == {
            k: len(v) for k, v in json.loads(reference).items()
        }
    assert text.count("\n") > 8  # one record per line, not one long line


def test_a_node_export_streams_the_executions_of_its_lineage(
    runs: Graph,  # noqa: F811
    small_pages: None,
) -> None:
    graph = lineage(runs.store, digest("clean"), direction="downstream", depth=1)
    ids = [n.id for n in graph.nodes if not isinstance(n, ArtifactNode)]
    lines = "".join(export.stream_openlineage(runs.store, execution_ids=ids))
    assert lines.splitlines(keepends=True) == reference_lines(runs.store, execution_ids=ids)
    text = "".join(export.stream_prov(runs.store, execution_ids=ids))
    assert prov_of(text) == prov_of(export.to_prov(runs.store, execution_ids=ids))
    assert sorted(json.loads(text)["entity"]) == sorted(
        f"artifact:{digest(n)}" for n in ("clean", "model")
    )


def test_an_empty_store_exports_no_event_and_an_empty_prov_document(store: Store) -> None:  # noqa: F811
    assert "".join(export.stream_openlineage(store)) == ""
    text = "".join(export.stream_prov(store))
    assert json.loads(text) == json.loads(export.to_prov(store))


def test_a_streamed_export_of_an_unknown_pipeline_fails_before_writing(
    runs: Graph,  # noqa: F811
) -> None:
    for stream in (export.stream_openlineage, export.stream_prov):
        with pytest.raises(NotFoundError, match="churn, fraud"):
            stream(runs.store, pipeline="nope")


def test_sizes_are_typed_by_magnitude_as_prov_types_them() -> None:
    from prov.serializers.provjson import encode_json_representation

    for size in (0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**31)):
        assert typed_int(size) == encode_json_representation(size), size


class CountingStore(Store):
    """A real store that notes how many rows each export read returned, and when."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.reads: list[tuple[str, int]] = []

    def export_runs(self, **kwargs: Any) -> list[ExportRun]:
        found = super().export_runs(**kwargs)
        self.reads.append(("runs", len(found)))
        return found

    def export_run_sites(self, **kwargs: Any) -> list[tuple[str, str | None]]:
        found = super().export_run_sites(**kwargs)
        self.reads.append(("sites", len(found)))
        return found

    def export_events(
        self, execution_ids: Collection[str], *, direction: EventDirection | None = None
    ) -> list[ExportEvent]:
        found = super().export_events(execution_ids, direction=direction)
        self.reads.append(("events", len(execution_ids)))
        return found

    def export_artifacts(self, **kwargs: Any) -> list[ExportArtifact]:
        found = super().export_artifacts(**kwargs)
        self.reads.append(("artifacts", len(found)))
        return found


def many_runs(url: str, count: int) -> None:
    with Store(url) as target:
        g = Graph(target)
        for i in range(count):
            g.run(f"r{i}", "train", (f"in{i % 3}",), (f"out{i}",), pipeline="big", site="s")


def test_exports_read_the_store_in_bounded_pages_and_write_before_reading_on(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_runs, "BATCH", 3)
    many_runs(store_url, 10)
    with CountingStore(store_url) as counted:
        stream = export.stream_openlineage(counted)
        first = next(stream)
        assert counted.reads == [("runs", 3), ("events", 3)]  # one page, then a chunk
        assert first.count("\n") == 6  # START and COMPLETE of 3 runs
        assert len(list(stream)) == 3  # pages of 3, 3, 1 runs
        assert max(n for _, n in counted.reads) <= 3
        counted.reads.clear()
        text = "".join(export.stream_prov(counted))
        assert {kind for kind, _ in counted.reads} == {"runs", "sites", "events", "artifacts"}
        assert max(n for _, n in counted.reads) <= 3
        document = json.loads(text)
        assert len(document["activity"]) == 10 and len(document["entity"]) == 13
        assert prov_of(text) == prov_of(export.to_prov(counted))


def test_cmf_export_streams_prov_and_openlineage_to_a_file(
    store_url: str,
    bare_project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export_runs, "BATCH", 4)
    many_runs(store_url, 9)
    target = bare_project / "prov.json"
    for fmt, check in (
        ("prov", lambda text: len(json.loads(text)["wasGeneratedBy"]) == 9),
        ("openlineage", lambda text: len(text.splitlines()) == 18),
    ):
        result = CliRunner().invoke(
            cli, ["--store", store_url, "export", "--format", fmt, "-o", str(target)]
        )
        assert result.exit_code == 0, result.output
        assert check(target.read_text(encoding="utf-8"))


def test_a_run_recorded_while_prov_streams_is_left_out_of_every_section(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_runs, "BATCH", 2)
    many_runs(store_url, 3)
    with Store(store_url) as target:
        before = export.to_prov(target)
        chunks = export.stream_prov(target)
        text = ""
        while '"agent"' not in text:  # the activity section is written
            text += next(chunks)
        late = Graph(target)
        late.ids = {f"r{i}": "" for i in range(3)}  # the next id follows many_runs' ids
        late.run("late", "train", ("in0",), ("late_out",), pipeline="big", site="s")
        text += "".join(chunks)
        assert prov_of(text) == prov_of(before)
        assert digest("late_out") not in text
