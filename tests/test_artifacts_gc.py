"""gc on a hand-built lineage with known keep and delete sets; storage stats; on both stores."""

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core import Cmf, NotFoundError
from cmf_core.artifacts.cache import Cache
from cmf_core.artifacts.gc import collect_garbage
from cmf_core.artifacts.push import push_artifacts
from cmf_core.artifacts.remote_store import RemoteStore
from cmf_core.artifacts.remotes import add_remote, get_remote
from cmf_core.artifacts.stats import storage_stats
from cmf_core.store import Store
from cmf_mcp.cli.main import cli


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


SHARED = b"a file that also sits inside data/clean"


@pytest.fixture
def lineage(project: Path, store_url: str) -> dict[str, str]:
    """fraud: prepare e1 → train e2 (model v1) → evaluate e5; train e8 (model old); prepare e3
    → train e4 (model v2). scratch: make e6 (junk 1), make e7 (junk 2). Plus one orphan."""
    cache = Cache.for_project(project)
    files = {
        "raw": b"raw data",
        "clean/a": SHARED,
        "clean/b": b"clean b",
        "clean2": b"clean two",
        "v1": b"model v1",
        "old": SHARED,  # the same bytes as a file of data/clean: one object
        "old2": b"model old, its own bytes",
        "v2": b"model v2",
        "report": b"evaluation",
        "junk1": b"junk one",
        "junk2": b"junk two",
    }
    for name, data in files.items():
        write(project / "w" / name, data)

    def run(pipeline: str, stage: str, inputs: list[str], outputs: list[str]) -> str:
        cmf = Cmf(pipeline=pipeline, store=store_url, capture_environment=False)
        with cmf, cmf.execution(stage) as execution:
            for direction, names in (("input", inputs), ("output", outputs)):
                for name in names:
                    found = execution.log_artifact(f"w/{name}", event=direction)
                    cache.add(project / "w" / name, found.digest)
        return execution.id

    ids = {
        "e1": run("fraud", "prepare", ["raw"], ["clean"]),
        "e2": run("fraud", "train", ["clean"], ["v1"]),
        "e8": run("fraud", "train", ["clean"], ["old", "old2"]),
        "e3": run("fraud", "prepare", ["raw"], ["clean2"]),
        "e4": run("fraud", "train", ["clean2"], ["v2"]),
        "e5": run("fraud", "evaluate", ["v1"], ["report"]),
        "e6": run("scratch", "make", [], ["junk1"]),
        "e7": run("scratch", "make", [], ["junk2"]),
    }
    write(project / "orphan", b"never logged")
    cache.add(project / "orphan", f"md5:{md5(b'never logged')}")
    return {**ids, "store": store_url}


def cached(project: Path) -> set[str]:
    return set(Cache.for_project(project).iter_oids())


def test_keep_last_keeps_the_newest_per_stage_and_everything_upstream(
    lineage: dict[str, str], project: Path
) -> None:
    before = cached(project)
    with Store(lineage["store"]) as store:
        report = collect_garbage(store, Cache.for_project(project), keep_last=1)
        assert report.dry_run and cached(project) == before  # the default only reports
        assert report.kept_executions == 6  # all but e6 and e8
        report = collect_garbage(store, Cache.for_project(project), keep_last=1, dry_run=False)
    removed = before - cached(project)
    assert removed == {md5(b"model old, its own bytes"), md5(b"junk one"), md5(b"never logged")}
    assert md5(SHARED) in cached(project)  # e8's output, but also a file of kept data/clean
    assert md5(b"raw data") in cached(project)  # upstream of e5 through e2 and e1
    assert report.freed_bytes == len(b"model old, its own bytes junk one never logged") - 2


def test_keep_pipeline_keeps_that_pipeline_and_drops_the_others(
    lineage: dict[str, str], project: Path
) -> None:
    with Store(lineage["store"]) as store:
        collect_garbage(store, Cache.for_project(project), keep_pipelines=["fraud"], dry_run=False)
        with pytest.raises(NotFoundError, match="'nope'"):
            collect_garbage(store, Cache.for_project(project), keep_pipelines=["nope"])
    left = cached(project)
    assert md5(b"model old, its own bytes") in left
    assert md5(b"junk one") not in left and md5(b"junk two") not in left


def test_with_no_keep_option_only_unreferenced_objects_go(
    lineage: dict[str, str], project: Path
) -> None:
    before = cached(project)
    with Store(lineage["store"]) as store:
        collect_garbage(store, Cache.for_project(project), dry_run=False)
    assert before - cached(project) == {md5(b"never logged")}


def test_gc_of_a_remote_removes_there_only(
    lineage: dict[str, str], project: Path, tmp_path: Path
) -> None:
    add_remote(project, "shared", str(tmp_path / "remote"), default=True)
    remote = RemoteStore(get_remote(project))
    with Store(lineage["store"]) as store:
        push_artifacts(store, Cache.for_project(project), remote)
        report = collect_garbage(
            store, Cache.for_project(project), remote=remote, keep_last=1, dry_run=False
        )
    assert report.location == "shared" and report.removed == 2  # model old, junk one
    assert md5(b"junk one") not in set(remote.iter_oids())
    assert md5(b"junk one") in cached(project)


def test_the_gc_command_dry_runs_by_default_and_says_what_it_would_free(
    lineage: dict[str, str], project: Path
) -> None:
    result = CliRunner().invoke(cli, ["--store", lineage["store"], "gc", "--keep-last", "1"])
    assert result.exit_code == 0, result.output
    assert "Would remove 3 of" in result.stdout and "--delete" in result.stdout
    assert md5(b"junk one") in cached(project)


def test_storage_stats_count_logged_bytes_against_stored_ones(
    project: Path, store_url: str
) -> None:
    data = os.urandom(1000)
    for name in ("a/first.bin", "b/second.bin"):
        write(project / name, data)
    cache = Cache.for_project(project)
    for pipeline, name in (("one", "a/first.bin"), ("two", "b/second.bin")):
        cmf = Cmf(pipeline=pipeline, store=store_url, capture_environment=False)
        with cmf, cmf.execution("make") as run:
            cache.add(project / name, run.log_model(name).digest)
    with Store(store_url) as store:
        stats = storage_stats(store, cache)
    assert (stats.total.logical_bytes, stats.total.stored_bytes) == (2000, 1000)
    assert stats.total.dedup_ratio == 2.0
    assert [(g.name, g.stored_bytes) for g in stats.pipelines] == [("one", 1000), ("two", 1000)]
    assert [g.name for g in stats.types] == ["model"]
    assert stats.locations[0].objects == 1
    result = CliRunner().invoke(cli, ["--store", store_url, "storage", "stats"])
    assert "dedup 2.00x" in result.stdout
