"""`cmf import-mlmd`: a cmflib project's mlmd history, imported as cmf sees it afterwards.

The main cases import ``tests/fixtures/cmflib/mlmd``, written by the real cmflib
(see its README). ``test_real_cmflib_runs_import_and_add_up`` also runs cmflib
itself in a throwaway virtual environment (``pip install cmflib``, a few
minutes the first time, cached in pytest's cache folder); set
``CMF_TEST_CMFLIB_PYTHON`` to a Python that has cmflib to skip the install.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cmf_core.cmflib.importer import import_mlmd
from cmf_core.errors import InvalidInputError, NotFoundError
from cmf_core.store import Store
from cmf_mcp.cli.main import cli

FIXTURE = Path(__file__).parent / "fixtures" / "cmflib"
PIPELINE = "get-started"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def cmf(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--store", url, *args], catch_exceptions=False)


def cmf_json(url: str, *args: str) -> Any:
    result = cmf(url, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def query(mlmd: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{mlmd}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def mlmd_property(mlmd: Path, execution: int, name: str) -> Any:
    ((value,),) = query(
        mlmd,
        "SELECT coalesce(string_value, int_value, double_value) FROM ExecutionProperty "
        f"WHERE execution_id = {execution} AND name = '{name}'",
    )
    return value


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the fixture cmflib project (its mlmd file and one step-metrics file)."""
    root = tmp_path / "cmflib-project"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return root / "mlmd"


def first_run_only(mlmd: Path, target: Path) -> Path:
    """The file as cmflib had left it after run 1 (mlmd only ever appends; run 1 made
    executions 1 to 3 and artifacts 1 to 7)."""
    shutil.copyfile(mlmd, target)
    conn = sqlite3.connect(target)
    with conn:
        conn.executescript(
            """
            DELETE FROM EventPath WHERE event_id IN (SELECT id FROM Event WHERE execution_id > 3);
            DELETE FROM Event WHERE execution_id > 3;
            DELETE FROM ExecutionProperty WHERE execution_id > 3;
            DELETE FROM Association WHERE execution_id > 3;
            DELETE FROM Execution WHERE id > 3;
            DELETE FROM ArtifactProperty WHERE artifact_id > 7;
            DELETE FROM Attribution WHERE artifact_id > 7;
            DELETE FROM Artifact WHERE id > 7;
            """
        )
    conn.close()
    return target


def test_an_imported_cmflib_project_is_seen_by_ls_show_and_trace(
    store_url: str, project: Path
) -> None:
    before = md5(project)
    result = cmf(store_url, "import-mlmd", str(project))
    assert result.exit_code == 0, result.output
    assert f"(ML Metadata schema 10): {PIPELINE}" in result.output
    assert md5(project) == before

    assert [p["name"] for p in cmf_json(store_url, "ls", "pipelines")] == [PIPELINE]
    stages = cmf_json(store_url, "ls", "stages")
    assert [s["name"] for s in stages] == ["prepare", "train", "evaluate"]
    assert stages[0]["properties"] == {"owner": "data-team"}
    executions = cmf_json(store_url, "ls", "executions")
    assert len(executions["items"] if isinstance(executions, dict) else executions) == 6

    train_id = mlmd_property(project, 2, "Execution_uuid")
    shown = cmf_json(store_url, "show", train_id)
    train = shown["execution"]
    assert (train["pipeline"], train["stage"], train["status"]) == (PIPELINE, "train", "completed")
    assert train["git_commit_start"] == mlmd_property(project, 2, "Git_Start_Commit")
    assert train["git_remote"] == "https://example.com/team/get-started.git"
    assert train["command"] == "python src/train.py data/prepared models/model.pkl"
    assert train["params"] == {"learning_rate": 0.01, "epochs": 3, "optimizer": "adam"}
    assert train["properties"]["execution_type"] == "train"
    assert train["environment_digest"] == "md5:b749b84ea74b01d3724d2586ac5749ab"
    assert {m["name"]: m["value"] for m in shown["metrics"]} == {
        "train_loss": 0.3,
        "n_trees": 100.0,
    }
    assert shown["step_metrics"] == {"loss": 3, "epoch": 3}
    [model] = [o["artifact"] for o in shown["outputs"] if o["artifact"]["type"] == "model"]
    assert model["digest"] == "md5:29203e7cb32b9ad75e14bc9d3dee338c"
    assert model["properties"]["model_framework"] == "sklearn"

    prepared = cmf_json(store_url, "show", "md5:56221893c93879aa2477ce00e08c8df4.dir")
    assert prepared["artifact"]["type"] == "dataset"
    assert {e["path"] for e in prepared["events"]} == {"data/prepared"}

    trace = cmf_json(store_url, "trace", model["digest"])
    assert trace["producers"] == [train_id]
    assert trace["sources"] == ["md5:75686325fc1eeb7a446be9d181ccca5d"]
    assert {e["execution"]["stage"] for e in trace["executions"]} == {"train", "prepare"}

    evaluate = cmf_json(store_url, "show", mlmd_property(project, 6, "Execution_uuid"))
    assert {m["name"]: m["value"] for m in evaluate["metrics"]} == {"accuracy": 0.9, "auc": 0.9}


def test_the_summary_names_what_was_skipped_and_why(sqlite_url: str, project: Path) -> None:
    with Store(sqlite_url) as store:
        summary = import_mlmd(store, project)
    records = summary.records
    assert (records.pipelines.new, records.stages.new, records.executions.new) == (1, 3, 6)
    # 12 mlmd artifacts: 4 Metrics ones have no bytes, 8 have a digest (2 reused by run 2).
    assert records.artifacts.new == 8
    reasons = {(skip.kind, skip.reason): skip.count for skip in records.skipped}
    assert (
        reasons[
            ("events", "an environment is the execution's environment_digest, not an input event")
        ]
        == 6
    )
    no_file = [r for (kind, r) in reasons if kind == "metrics" and "not next to the mlmd" in r]
    assert len(no_file) == 1 and "recorded without its values" in no_file[0]
    # run 1: 2 + 2 execution metrics, 3 steps of loss and epoch; run 2: 4 execution metrics.
    assert records.metrics.new == 4 + 6 + 4


def test_importing_the_same_file_again_adds_nothing(store_url: str, project: Path) -> None:
    first = cmf_json(store_url, "import-mlmd", str(project))
    again = cmf_json(store_url, "import-mlmd", str(project))
    for kind in ("pipelines", "stages", "executions", "artifacts", "events", "metrics"):
        assert again["records"][kind]["new"] == 0, kind
        assert again["records"][kind]["unchanged"] == first["records"][kind]["new"], kind
    assert again["records"]["conflicts"] == []


def test_a_later_copy_of_the_file_adds_only_the_new_runs(
    store_url: str, project: Path, tmp_path: Path
) -> None:
    earlier = first_run_only(project, project.parent / "mlmd-run1")
    with Store(store_url) as store:
        first = import_mlmd(store, earlier).records
        later = import_mlmd(store, project).records
        assert store.count("executions") == 6
    assert first.executions.new == 3 and later.executions.new == 3
    assert later.executions.unchanged == 3 and later.executions.conflicts == 0
    assert later.stages.new == 0 and later.pipelines.unchanged == 1
    # run 2 reused raw.csv and the environment, and made a new prepared set, model, metrics file
    assert later.artifacts.new == 3
    assert later.metrics.new == 4 and later.metrics.unchanged == first.metrics.new


def test_only_the_pipeline_asked_for_is_imported(sqlite_url: str, project: Path) -> None:
    with Store(sqlite_url) as store:
        summary = import_mlmd(store, project, pipeline=PIPELINE)
        assert summary.pipelines_imported == [PIPELINE]
        with pytest.raises(NotFoundError, match="No pipeline 'other' in .*; it holds: get-started"):
            import_mlmd(store, project, pipeline="other")


def damage(kind: str, mlmd: Path) -> None:
    """Spoil a copy of the fixture in one way."""
    data = mlmd.read_bytes()
    if kind == "truncated":
        mlmd.write_bytes(data[: len(data) // 2])
    elif kind == "corrupt":
        page = 4096
        mlmd.write_bytes(data[: 3 * page] + b"\xa5" * page + data[4 * page :])
    elif kind == "not sqlite":
        mlmd.write_text("name,value\nlr,0.01\n", encoding="utf-8")
    elif kind == "empty":
        mlmd.write_bytes(b"")
    else:
        conn = sqlite3.connect(mlmd)
        with conn:
            if kind == "unknown schema":
                conn.execute("DELETE FROM MLMDEnv")
            else:
                version = {"newer schema": 11, "older schema": 4}[kind]
                conn.execute(f"UPDATE MLMDEnv SET schema_version = {version}")
        conn.close()


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("truncated", "may be truncated or corrupt. Nothing was imported"),
        ("corrupt", "may be truncated or corrupt. Nothing was imported"),
        ("not sqlite", "is not an SQLite file, so not cmflib's mlmd file"),
        ("empty", "is not an SQLite file"),
        ("newer schema", "schema version 11, newer than cmf reads ML Metadata schema versions 6"),
        ("unknown schema", "has no readable ML Metadata schema version"),
        ("older schema", "schema version 4, older than cmf reads"),
    ],
)
def test_a_damaged_or_foreign_file_is_refused_whole_and_left_as_it_was(
    sqlite_url: str, project: Path, kind: str, message: str
) -> None:
    damage(kind, project)
    before = md5(project)
    result = cmf(sqlite_url, "import-mlmd", str(project))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert "Traceback" not in result.output
    assert md5(project) == before
    with Store(sqlite_url) as store:
        assert store.list_pipelines() == []


def test_a_missing_path_a_folder_and_a_cmf_store_are_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    with Store(sqlite_url) as store:
        with pytest.raises(NotFoundError, match="No mlmd file at") as missing:
            import_mlmd(store, tmp_path / "nowhere" / "mlmd")
        # The path is a field each surface may show its own way, not text baked in.
        assert missing.value.path == str(tmp_path / "nowhere" / "mlmd")
        assert missing.value.message.startswith("No mlmd file at {path};")
        assert missing.value.render(path=lambda p: "<p>").startswith("No mlmd file at <p>;")
        with pytest.raises(InvalidInputError, match="is a folder, not an mlmd file"):
            import_mlmd(store, tmp_path)
        cmf_store = Path(sqlite_url.removeprefix("sqlite:///"))
        with pytest.raises(InvalidInputError, match="is a cmf store, not an ML Metadata"):
            import_mlmd(store, cmf_store)
    result = cmf(sqlite_url, "import-mlmd", str(tmp_path / "nowhere"))
    assert result.exit_code == 1 and result.stderr.startswith("Error: No mlmd file at")


def test_an_artifact_without_an_md5_and_an_event_without_its_artifact_are_skipped(
    sqlite_url: str, project: Path
) -> None:
    conn = sqlite3.connect(project)
    with conn:
        conn.execute("UPDATE Artifact SET uri = 's3://bucket/raw.csv' WHERE id = 2")
        conn.execute(
            "INSERT INTO Event (artifact_id, execution_id, type, milliseconds_since_epoch) "
            "VALUES (999, 1, 3, 0)"
        )
    conn.close()
    before = md5(project)
    with Store(sqlite_url) as store:
        summary = import_mlmd(store, project)
        assert store.count("executions") == 6
    assert md5(project) == before
    skipped = {(s.kind, s.reason): s for s in summary.records.skipped}
    bad_uri = skipped[("artifacts", "its uri is not an md5 digest")]
    assert bad_uri.count == 1 and "(s3://bucket/raw.csv)" in bad_uri.examples[0]
    assert skipped[("events", "its artifact's uri is not an md5 digest")].count == 2
    assert skipped[("events", "it points at an artifact the file does not hold")].count == 1


def test_a_store_failure_leaves_no_half_imported_pipeline(sqlite_url: str, project: Path) -> None:
    with Store(sqlite_url):
        pass
    store_file = sqlite_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(store_file)
    with conn:  # the store refuses the evaluation's metrics, the last records merged
        conn.execute(
            "CREATE TRIGGER refuse_auc BEFORE INSERT ON metrics WHEN NEW.name = 'auc' "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    conn.close()
    result = cmf(sqlite_url, "import-mlmd", str(project))
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output
    with Store(sqlite_url) as store:
        assert store.list_pipelines() == [] and store.count("executions") == 0


def test_step_metrics_need_pyarrow_else_the_summary_says_so(
    sqlite_url: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with Store(sqlite_url) as store:
        summary = import_mlmd(store, project)
    reasons = [s.reason for s in summary.records.skipped if s.kind == "metrics"]
    assert any("pyarrow is not installed (pip install 'cmf[mlmd]')" in r for r in reasons)
    assert summary.records.metrics.new == 8  # the execution metrics only


# -- the real cmflib ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cmflib_python(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python with cmflib: CMF_TEST_CMFLIB_PYTHON, else a venv made once and cached."""
    given = os.environ.get("CMF_TEST_CMFLIB_PYTHON")
    if given:
        return Path(given)
    cache = getattr(request.config, "cache", None)
    root = (
        cache.mkdir("cmflib-venv") if cache is not None else tmp_path_factory.mktemp("cmflib-venv")
    )
    python = root / "bin" / "python"
    if not (root / "installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
        try:
            done = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "cmflib==0.1.0"],
                capture_output=True,
                text=True,
                timeout=1200,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("pip install cmflib took over 20 minutes")
        if done.returncode != 0:
            pytest.skip(f"cmflib cannot be installed here: {done.stderr.strip()[-300:]}")
        (root / "installed").write_text("cmflib==0.1.0\n", encoding="utf-8")
    return python


def run_cmflib(python: Path, project: Path, run: int) -> None:
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [str(python), str(FIXTURE / "make_mlmd.py"), str(project), "--run", str(run)],
        check=True,
        capture_output=True,
        env=env,
        timeout=600,
    )


# The first parametrization pays for installing cmflib and DVC into a new venv (up to the
# fixture's own 20 minutes on a loaded machine) before two real cmflib runs of up to 10 each.
@pytest.mark.timeout(2400)
def test_real_cmflib_runs_import_and_add_up(
    store_url: str, cmflib_python: Path, tmp_path: Path
) -> None:
    project = tmp_path / "cmflib-live"
    run_cmflib(cmflib_python, project, 1)
    first = cmf_json(store_url, "import-mlmd", str(project / "mlmd"))
    run_cmflib(cmflib_python, project, 2)
    before = md5(project / "mlmd")
    second = cmf_json(store_url, "import-mlmd", str(project / "mlmd"))
    assert md5(project / "mlmd") == before
    assert first["records"]["executions"]["new"] == 3
    assert second["records"]["executions"] == {
        "new": 3,
        "unchanged": 3,
        "updated": 0,
        "conflicts": 0,
        "skipped": 0,
    }
    # both runs' step-metrics files are there: 3 steps of loss and epoch each, per run
    assert first["records"]["metrics"]["new"] == 4 + 6
    assert second["records"]["metrics"]["new"] == 4 + 6
    runs = cmf_json(store_url, "ls", "executions", "--stage", "train")
    items = runs["items"] if isinstance(runs, dict) else runs
    assert sorted(e["params"]["learning_rate"] for e in items) == [0.01, 0.02]


def test_states_missing_uuids_foreign_types_and_stageless_runs_are_mapped(
    sqlite_url: str, project: Path
) -> None:
    conn = sqlite3.connect(project)
    with conn:
        conn.execute("UPDATE Execution SET last_known_state = 4 WHERE id = 1")  # FAILED
        conn.execute("UPDATE Execution SET last_known_state = 2 WHERE id = 4")  # RUNNING
        conn.execute(
            "DELETE FROM ExecutionProperty WHERE execution_id = 5 AND name = 'Execution_uuid'"
        )
        conn.execute("INSERT INTO Type (id, name, type_kind) VALUES (99, 'Custom_Data', 1)")
        conn.execute("UPDATE Artifact SET type_id = 99 WHERE id = 2")
        conn.execute("DELETE FROM Association WHERE execution_id = 3")
    conn.close()
    with Store(sqlite_url) as store:
        summary = import_mlmd(store, project)
        again = import_mlmd(store, project)
        by_stage = {}
        for execution in store.list_executions(limit=10):
            by_stage.setdefault(execution.stage, []).append(execution)
        raw = store.get_artifact_detail("md5:75686325fc1eeb7a446be9d181ccca5d").artifact
    assert again.new == 0
    assert len(by_stage["evaluate"]) == 1  # the stageless one was skipped
    statuses = sorted(e.status.value for e in by_stage["prepare"])
    assert statuses == ["failed", "running"]
    assert [e.ended_at for e in by_stage["prepare"] if e.status.value == "running"] == [None]
    assert len(by_stage["train"]) == 2  # one with a derived id, stable across imports
    assert (raw.type.value, raw.properties["mlmd_type"]) == ("other", "Custom_Data")
    reasons = {(s.kind, s.reason) for s in summary.records.skipped}
    assert ("executions", "the execution is in no stage") in reasons
    assert ("events", "its execution is in no stage") in reasons


def test_a_step_metrics_file_that_changed_is_not_read(sqlite_url: str, project: Path) -> None:
    [parquet] = (project.parent / "cmf_artifacts").rglob("training_metrics")
    parquet.write_bytes(parquet.read_bytes() + b"\0")
    with Store(sqlite_url) as store:
        summary = import_mlmd(store, project)
    reasons = [s.reason for s in summary.records.skipped if s.kind == "metrics"]
    assert any("has changed since cmflib recorded it" in r for r in reasons)


def test_a_long_import_draws_a_progress_bar(
    sqlite_url: str,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import cmf_core.cmflib.importer as importer

    monkeypatch.setattr(importer, "DEFAULT_DELAY", 0.0)  # every import is "long"
    with Store(sqlite_url) as store:
        import_mlmd(store, project, progress=True)
        import_mlmd(store, project, progress=False)
    drawn = capsys.readouterr().err
    assert drawn.count("Importing get-started") == 1 and "records" in drawn
