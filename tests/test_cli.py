"""The `cmf` command: init, run, ls, show, db upgrade — via click's runner and real processes."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core import Cmf
from cmf_core.records import ExecutionStatus
from cmf_core.store import Store
from cmf_core.store.schema import HEAD_REVISION
from cmf_mcp.cli.main import cli

CMF = str(Path(sys.executable).parent / "cmf")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def recorded(project: Path) -> dict[str, str]:
    """A project with one completed and one failed execution recorded."""
    (project / "data.csv").write_text("x\n1\n")
    (project / "model.bin").write_text("weights")
    with Cmf(pipeline="fraud") as cmf:
        with cmf.execution("train", params={"lr": 0.1}) as run:
            run.log_dataset("data.csv")
            run.log_model("model.bin")
            run.log_metrics({"accuracy": 0.875})
            run.log_metric("loss", 0.5)
        with pytest.raises(RuntimeError), cmf.execution("evaluate") as failed:
            raise RuntimeError("no GPU")
    return {"train": run.id, "failed": failed.id}


def test_init_makes_the_project_folder_and_store(tmp_path: Path) -> None:
    code, out, _ = invoke("init", str(tmp_path / "proj"))
    assert code == 0 and "Initialised cmf project" in out
    assert (tmp_path / "proj" / ".cmf" / "metadata.db").is_file()
    assert "metadata.db" in (tmp_path / "proj" / ".cmf" / ".gitignore").read_text()


def test_ls_executions_prints_a_table_and_json(recorded: dict[str, str]) -> None:
    code, out, _ = invoke("ls", "executions")
    assert code == 0
    assert recorded["train"] in out and "completed" in out and "failed" in out
    code, out, _ = invoke("ls", "executions", "--status", "failed", "--json")
    rows = json.loads(out)
    assert [(r["id"], r["error"]) for r in rows] == [(recorded["failed"], "RuntimeError: no GPU")]


def test_ls_artifacts_filters_by_type_and_shows_paths(recorded: dict[str, str]) -> None:
    code, out, _ = invoke("ls", "artifacts", "--type", "model", "--json")
    assert code == 0
    [row] = json.loads(out)
    assert (row["type"], row["path"]) == ("model", "model.bin")


def test_ls_pipelines_and_stages(recorded: dict[str, str]) -> None:
    assert "fraud" in invoke("ls", "pipelines")[1]
    stages = json.loads(invoke("ls", "stages", "--pipeline", "fraud", "--json")[1])
    assert [s["name"] for s in stages] == ["train", "evaluate"]


def test_show_accepts_an_id_prefix_a_digest_and_a_path(recorded: dict[str, str]) -> None:
    code, out, _ = invoke("show", recorded["train"][:18])
    assert code == 0
    assert "accuracy" in out and "data.csv" in out and "lr=0.1" in out
    code, out, _ = invoke("show", "model.bin", "--json")
    detail = json.loads(out)
    assert detail["artifact"]["type"] == "model"
    assert detail["events"][0]["execution_id"] == recorded["train"]
    digest = detail["artifact"]["digest"]
    assert json.loads(invoke("show", digest[:12], "--json")[1])["artifact"]["digest"] == digest


def test_show_of_an_unknown_reference_says_where_to_look(recorded: dict[str, str]) -> None:
    code, _, err = invoke("show", "nothing-like-this")
    assert code == 1
    assert err.startswith("Error: No artifact was logged under the path 'nothing-like-this'")
    assert "cmf ls artifacts" in err
    typo = recorded["train"][:15] + "fff"  # the start of a real id, then a slip
    code, _, err = invoke("show", typo)
    assert code == 1
    assert err.startswith(f"Error: Nothing recorded matches {typo!r}")
    assert "nearest recorded" in err and "cmf ls executions" in err


def test_an_ambiguous_prefix_lists_the_candidates(project: Path) -> None:
    with Cmf(pipeline="p") as cmf:
        ids = [cmf.start_execution("s").id for _ in range(3)]
    code, _, err = invoke("show", ids[0][:2])
    assert code == 1 and "matches more than one execution" in err
    assert all(i in err for i in ids)


def test_a_bad_store_url_is_one_clean_error_line(project: Path) -> None:
    code, out, err = invoke("--store", "mysql://x@y/z", "ls", "pipelines")
    assert code == 1 and out == ""
    assert err.startswith("Error: Unsupported store URL scheme") and "Traceback" not in err


def test_db_upgrade_reports_the_schema(project: Path) -> None:
    code, out, _ = invoke("db", "upgrade")
    assert code == 0 and f"upgraded from schema none to {HEAD_REVISION}" in out
    code, out, _ = invoke("db", "upgrade")
    assert f"up to date (schema {HEAD_REVISION})" in out


def run_cmf(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}
    return subprocess.run(
        [CMF, *args], cwd=project, capture_output=True, text=True, env=env, timeout=120
    )


def test_cmf_run_records_inputs_outputs_params_and_the_command(project: Path) -> None:
    (project / "raw").mkdir()
    (project / "raw" / "a.csv").write_text("1\n2\n")
    script = "import shutil; shutil.copytree('raw', 'prepared')"
    result = run_cmf(
        project,
        "run",
        "--pipeline",
        "fraud",
        "--stage",
        "prepare",
        "-i",
        "raw",
        "-o",
        "prepared",
        "-p",
        "seed=1",
        "-p",
        "name=fast",
        "--",
        sys.executable,
        "-c",
        script,
    )
    assert result.returncode == 0, result.stderr
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        [execution] = store.list_executions()
        detail = store.get_execution_detail(execution.id)
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.params == {"seed": 1, "name": "fast"}
    assert execution.command is not None
    assert shlex.split(execution.command) == [sys.executable, "-c", script]
    assert [e.path for e in detail.inputs] == ["raw"]
    assert [e.path for e in detail.outputs] == ["prepared"]
    assert detail.inputs[0].artifact.digest == detail.outputs[0].artifact.digest


def test_cmf_run_of_a_failing_command_fails_the_execution_and_exits_with_its_code(
    project: Path,
) -> None:
    result = run_cmf(
        project,
        "run",
        "--pipeline",
        "p",
        "--stage",
        "s",
        "--",
        sys.executable,
        "-c",
        "import sys; sys.exit(3)",
    )
    assert result.returncode == 3
    assert "failed (exit 3)" in result.stderr
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        [execution] = store.list_executions()
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error == "command exited with status 3"


def test_cmf_run_fails_when_a_declared_output_is_missing(project: Path) -> None:
    result = run_cmf(
        project, "run", "--pipeline", "p", "--stage", "s", "-o", "out.csv", "--", "true"
    )
    assert result.returncode == 1
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        [execution] = store.list_executions()
    assert execution.error == "declared output(s) not produced: out.csv"


def test_cmf_run_refuses_a_missing_input_before_recording_anything(project: Path) -> None:
    result = run_cmf(
        project, "run", "--pipeline", "p", "--stage", "s", "-i", "nope.csv", "--", "true"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Input nope.csv does not exist")
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        assert store.count("executions") == 0


def test_cmf_run_of_an_unknown_program_records_a_failure(project: Path) -> None:
    result = run_cmf(project, "run", "--pipeline", "p", "--stage", "s", "--", "no-such-program")
    assert result.returncode == 1
    assert "Cannot start 'no-such-program'" in result.stderr
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        [execution] = store.list_executions()
    assert execution.status is ExecutionStatus.FAILED


def test_cmf_help_lists_the_commands() -> None:
    result = subprocess.run([CMF, "--help"], capture_output=True, text=True, check=True)
    listed = result.stdout.split("Commands:", 1)[1]
    names = {line.split()[0] for line in listed.splitlines() if line.startswith("  ")}
    assert {"init", "run", "ls", "show", "db", "lineage", "trace", "compare", "mcp"} <= names


def test_json_output_turns_nan_into_null(project: Path) -> None:
    with Cmf(pipeline="p") as cmf, cmf.execution("s") as run:
        run.log_metrics({"loss": float("nan")})
    code, out, _ = invoke("show", run.id, "--json")
    assert code == 0 and "NaN" not in out
    assert json.loads(out)["metrics"][0]["value"] is None


def test_cmf_run_passes_sigterm_on_and_records_the_failure(project: Path) -> None:
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}
    child = "import sys, time; print('ready', flush=True); time.sleep(120)"
    with subprocess.Popen(
        [CMF, "run", "--pipeline", "p", "--stage", "s", "--", sys.executable, "-c", child],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        [execution] = store.list_executions()
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error == f"command exited with status {-signal.SIGTERM}"
