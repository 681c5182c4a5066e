"""Offline bundles: export, check, import — whole or not at all, idempotent, on both backends."""

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core.errors import SyncError
from cmf_core.store import Store
from cmf_core.sync.bundle import export_bundle, import_bundle
from cmf_mcp.cli.main import cli
from tests.sync_support import log_run


def counts(store: Store) -> dict[str, int]:
    kinds = ("pipelines", "stages", "executions", "artifacts", "events", "metrics")
    return {kind: store.count(kind) for kind in kinds}


@pytest.fixture
def edge(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'edge.db'}")
    log_run(store, "fraud", "prepare", inputs=("raw",), outputs=("features",))
    log_run(store, "fraud", "train", inputs=("features",), outputs=("model",), steps=5)
    log_run(store, "other", "x", outputs=("elsewhere",), metrics={"acc": 0.5})
    return store


def test_a_bundle_carries_everything_and_importing_twice_changes_nothing(
    edge: Store, store_url: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.jsonl.gz"
    report = export_bundle(edge, bundle, site="edge-7")
    assert report.until == edge.latest_seq() and bundle.exists()
    assert not bundle.with_name(bundle.name + ".partial").exists()
    with Store(store_url) as dc:
        first = import_bundle(dc, bundle)
        assert counts(dc) == counts(edge)
        assert first.summary is not None and first.summary.executions.new == 3
        again = import_bundle(dc, bundle)
        assert again.summary is not None
        assert again.summary.executions.new == 0 and again.summary.executions.unchanged == 3
        assert counts(dc) == counts(edge)


def test_since_and_pipeline_keep_a_bundle_to_what_is_new(edge: Store, tmp_path: Path) -> None:
    first = export_bundle(edge, tmp_path / "one.jsonl.gz", pipeline="fraud")
    run = log_run(edge, "fraud", "evaluate", inputs=("model",))
    second = export_bundle(edge, tmp_path / "two.jsonl.gz", pipeline="fraud", since=first.until)
    with Store(f"sqlite:///{tmp_path / 'dc.db'}") as dc:
        import_bundle(dc, tmp_path / "two.jsonl.gz")
        assert [e.id for e in dc.list_executions()] == [run]
        assert second.since == first.until
        import_bundle(dc, tmp_path / "one.jsonl.gz")
        assert {p.name for p in dc.list_pipelines()} == {"fraud"}
        assert dc.count("executions") == 3


def _rewrite(bundle: Path, change: "object") -> None:
    lines = gzip.decompress(bundle.read_bytes()).split(b"\n")
    assert callable(change)
    bundle.write_bytes(gzip.compress(b"\n".join(change(lines))))


def test_a_damaged_bundle_is_refused_whole_naming_the_line(edge: Store, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.jsonl.gz"
    export_bundle(edge, bundle)
    good = bundle.read_bytes()
    target = Store(f"sqlite:///{tmp_path / 'dc.db'}")

    bundle.write_bytes(good[: len(good) // 2])  # a copy cut short
    with pytest.raises(SyncError, match="truncated"):
        import_bundle(target, bundle)

    bundle.write_bytes(good)
    _rewrite(bundle, lambda lines: lines[:-2] + lines[-1:])  # the end line dropped
    with pytest.raises(SyncError, match="end line is missing"):
        import_bundle(target, bundle)

    bundle.write_bytes(good)
    _rewrite(bundle, lambda lines: [lines[0], lines[1].replace(b"fraud", b"fraux"), *lines[2:]])
    with pytest.raises(SyncError, match=r"line \d+: its checksum"):
        import_bundle(target, bundle)

    bundle.write_bytes(good)
    _rewrite(bundle, lambda lines: [lines[0], b'{"records": {"executions": 7}}', *lines[1:]])
    with pytest.raises(SyncError, match="damaged at line 2: .*invalid value"):
        import_bundle(target, bundle)

    bundle.write_bytes(good)
    _rewrite(bundle, lambda lines: [lines[0], b"{not json", *lines[1:]])
    with pytest.raises(SyncError, match="damaged at line 2: not JSON"):
        import_bundle(target, bundle)

    assert counts(target)["executions"] == 0  # nothing of any of them went in
    target.close()


def test_a_bundle_from_a_newer_cmf_asks_for_an_upgrade(edge: Store, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.jsonl.gz"
    export_bundle(edge, bundle)

    def newer(lines: list[bytes]) -> list[bytes]:
        header = json.loads(lines[0])
        return [json.dumps({**header, "version": 99}).encode(), *lines[1:]]

    _rewrite(bundle, newer)
    with Store(f"sqlite:///{tmp_path / 'dc.db'}") as target, pytest.raises(SyncError) as caught:
        import_bundle(target, bundle)
    assert "upgrade cmf" in str(caught.value)


def test_the_cli_exports_and_imports_bundles(edge: Store, tmp_path: Path) -> None:
    bundle = tmp_path / "b.jsonl.gz"
    edge_url, dc_url = edge.url, f"sqlite:///{tmp_path / 'dc.db'}"
    runner = CliRunner()
    out = runner.invoke(cli, ["--store", edge_url, "metadata", "export", "-o", str(bundle)])
    assert out.exit_code == 0, out.output
    assert "export --since" in out.stdout
    out = runner.invoke(cli, ["--store", dc_url, "metadata", "import", str(bundle)])
    assert out.exit_code == 0, out.output
    assert "3 new executions" in out.stdout
    out = runner.invoke(cli, ["--store", dc_url, "metadata", "import", str(tmp_path / "no")])
    assert out.exit_code == 1 and "No bundle at" in out.stderr
    out = runner.invoke(cli, ["--store", dc_url, "metadata", "conflicts"])
    assert out.exit_code == 0 and "No conflicts" in out.stdout
