"""Reproduce: the recipe of hand-built executions, and a script that really reruns a `cmf run`."""

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core.errors import NotFoundError
from cmf_core.hashing import hash_path
from cmf_core.ids import Uuid7Generator
from cmf_core.recipes.recipe import reproduce
from cmf_core.recipes.script import reproduce_script
from cmf_core.records import EventDirection, ExecutionStatus
from cmf_core.store import ArtifactRow, Store
from cmf_mcp.cli.main import cli
from tests.conftest import git

ids = Uuid7Generator()
ENVIRONMENT = {
    "python": {"version": "3.11.7", "implementation": "CPython"},
    "platform": {"system": "Linux", "machine": "x86_64", "libc": "glibc 2.36"},
    "packages": {"numpy": "1.26.4", "scikit-learn": "1.4.2"},
}


def d(n: int) -> str:
    return f"md5:{n:032x}"


def execution(
    store: Store,
    stage: str,
    *,
    inputs: Sequence[tuple[str, str]] = (),
    outputs: Sequence[tuple[str, str]] = (),
    **columns: object,
) -> str:
    execution_id = ids.new()
    store.start_execution(id=execution_id, stage_id=store.ensure_stage("fraud", stage), **columns)
    for events, direction in ((inputs, EventDirection.INPUT), (outputs, EventDirection.OUTPUT)):
        for path, digest in events:
            row = ArtifactRow(digest, "dataset", 12, None, {})
            store.record_artifact(row, execution_id=execution_id, direction=direction, path=path)
    return execution_id


def test_the_recipe_names_commit_inputs_command_params_and_environment(store_url: str) -> None:
    with Store(store_url) as store:
        store.record_artifact(ArtifactRow(d(900), "environment", None, None, ENVIRONMENT))
        prepare = execution(store, "prepare", outputs=[("data/prepared.csv", d(2))])
        store.end_execution(prepare, status=ExecutionStatus.COMPLETED)
        train = execution(
            store,
            "train",
            inputs=[("data/prepared.csv", d(2)), ("data/raw.csv", d(1))],
            outputs=[("models/model.pkl", d(3))],
            command="python train.py --lr 0.1",
            params={"lr": 0.1},
            git_commit_start="a" * 40,
            git_branch="main",
            git_remote="https://example.com/fraud.git",
            git_is_dirty=True,
            git_diff_digest=d(77),
            environment_digest=d(900),
        )
        store.end_execution(train, status=ExecutionStatus.COMPLETED, git_commit_end="a" * 40)
        recipe = reproduce(store, train[:18])

    assert (recipe.execution_id, recipe.pipeline, recipe.stage) == (train, "fraud", "train")
    assert (recipe.commit, recipe.branch, recipe.remote) == (
        "a" * 40,
        "main",
        "https://example.com/fraud.git",
    )
    assert (recipe.command, recipe.params, recipe.is_dirty) == (
        "python train.py --lr 0.1",
        {"lr": 0.1},
        True,
    )
    assert [(i.path, i.digest, i.producer, i.producer_stage) for i in recipe.inputs] == [
        ("data/prepared.csv", d(2), prepare, "fraud/prepare"),
        ("data/raw.csv", d(1), None, None),
    ]
    assert [(o.path, o.digest) for o in recipe.outputs] == [("models/model.pkl", d(3))]
    assert recipe.environment is not None
    assert recipe.environment.requirements == ["numpy==1.26.4", "scikit-learn==1.4.2"]
    assert (recipe.environment.python, recipe.environment.platform) == (
        "3.11.7",
        "Linux x86_64 (glibc 2.36)",
    )
    assert recipe.warnings == [
        f"The run was made with uncommitted changes (diff {d(77)}); commit {'a' * 40} "
        "without them cannot reproduce it exactly."
    ]
    script = reproduce_script(recipe, source_root="/srv/fraud")
    assert f"# WARNING: The run was made with uncommitted changes (diff {d(77)})" in script
    assert "set -euo pipefail" in script and f"commit={'a' * 40}" in script
    assert 'git -C "$source_root" worktree add --quiet --detach -- "$workdir" "$commit"' in script
    assert 'git clone --quiet --no-checkout -- "$remote" "$workdir"' in script
    assert "remote=https://example.com/fraud.git" in script
    assert "numpy==1.26.4\nscikit-learn==1.4.2\nCMF_REQUIREMENTS" in script
    assert f"fetch data/raw.csv {d(1)} " in script
    assert f"`cmf reproduce {prepare}`" in script
    assert "\npython train.py --lr 0.1\n" in script
    assert f"check models/model.pkl {d(3)}" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_a_failed_run_without_git_or_environment_says_what_is_missing(store_url: str) -> None:
    with Store(store_url) as store:
        failed = execution(store, "train", command=None)
        store.end_execution(failed, status=ExecutionStatus.FAILED, error="ValueError: NaN")
        recipe = reproduce(store, failed)
        with pytest.raises(NotFoundError, match="nearest recorded"):
            reproduce(store, failed[:-2] + ("00" if failed[-2:] != "00" else "11"))
    assert [w.split(" (")[0].split(";")[0] for w in recipe.warnings] == [
        "No Git commit was recorded",
        "The run failed",
        "No command was recorded",
        "No environment was recorded",
    ]
    script = reproduce_script(recipe)
    assert "NEW_DIR must already hold it" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_recorded_text_cannot_break_out_of_the_script(tmp_path: Path, sqlite_url: str) -> None:
    nasty = "data/$(touch pwned)\n`touch pwned`; 'x\"y.csv"
    with Store(sqlite_url) as store:
        run = execution(
            store,
            "tr$(touch pwned)ain",
            inputs=[(nasty, d(1))],
            command="python 'a b.py' $(touch pwned)",
            params={"x\n$(touch pwned)": "`touch pwned`"},
            git_remote="$(touch pwned)",
            git_branch="main\ntouch pwned",
            environment_digest="md5:$(touch pwned)",
        )
        store.end_execution(run, status=ExecutionStatus.FAILED, error="boom\n$(touch pwned)")
        recipe = reproduce(store, run)
    # With a commit the script would check it out; without one it runs in NEW_DIR as it is,
    # so every line up to the missing input runs: the warnings, the fetch, the environment.
    for commit in ("$(touch pwned)\n`touch pwned`", None):
        nasty_recipe = recipe.model_copy(update={"commit": commit})
        script = reproduce_script(nasty_recipe, source_root=tmp_path / "$(touch pwned)")
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
        work = tmp_path / "work"
        (work / "new").mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["bash", "-c", script, "reproduce", str(work / "new")],
            cwd=work,
            capture_output=True,
            text=True,
        )
        assert result.returncode != 0
        assert not list(tmp_path.rglob("pwned")), result.stderr
    assert "cmf: input data/$(touch pwned)" in result.stderr  # the fetch ran, quoted


def test_the_script_reruns_a_cmf_run_in_a_new_worktree_with_the_same_output(
    project: Path, tmp_path: Path
) -> None:
    (project / ".gitignore").write_text(".cmf/\ndata/\nout.txt\n")
    (project / "make.py").write_text(
        "from pathlib import Path\n"
        "Path('out.txt').write_text(Path('data/in.txt').read_text().upper())\n"
    )
    git(project, "add", ".gitignore", "make.py")
    git(project, "commit", "-q", "-m", "add make.py")
    head = git(project, "rev-parse", "HEAD")
    (project / "data").mkdir()
    (project / "data" / "in.txt").write_text("hello\n")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["run", "--pipeline", "demo", "--stage", "make", "-i", "data/in.txt", "-o", "out.txt",
         "-p", "k=1", "--", sys.executable, "make.py"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        (recorded,) = store.list_executions()
    assert recorded.git_commit_start == head and recorded.git_is_dirty is False

    result = runner.invoke(cli, ["reproduce", recorded.id[:13], "--script"])
    assert result.exit_code == 0, result.output
    script = tmp_path / "reproduce.sh"
    script.write_text(result.stdout)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "CMF_PYTHON": sys.executable}
    rerun = subprocess.run(
        ["bash", str(script), "rerun"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"cmf: out.txt matches {hash_path(project / 'out.txt').digest}" in rerun.stderr
    assert (elsewhere / "rerun" / "out.txt").read_text() == "HELLO\n"
    assert (
        hash_path(elsewhere / "rerun" / "out.txt").digest == hash_path(project / "out.txt").digest
    )
    assert git(elsewhere / "rerun", "rev-parse", "HEAD") == head
    assert "pydantic==" in (elsewhere / "rerun.requirements.txt").read_text()
    # The user's own work tree is untouched: same HEAD, nothing changed.
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == ""
    again = subprocess.run(
        ["bash", str(script), "rerun"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert again.returncode == 1 and "already exists" in again.stderr


def test_the_script_stops_when_an_input_cannot_be_found(project: Path, tmp_path: Path) -> None:
    (project / ".gitignore").write_text(".cmf/\ndata/\n")
    git(project, "add", ".gitignore")
    git(project, "commit", "-q", "-m", "ignore data")
    (project / "data").mkdir()
    (project / "data" / "in.txt").write_text("one\n")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["run", "--pipeline", "demo", "--stage", "cat", "-i", "data/in.txt", "--",
         sys.executable, "-c", "print('ran')"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (project / "data" / "in.txt").write_text("two\n")  # the recorded bytes are gone
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        (recorded,) = store.list_executions()
    script = tmp_path / "reproduce.sh"
    script.write_text(runner.invoke(cli, ["reproduce", recorded.id, "--script"]).stdout)
    rerun = subprocess.run(
        ["bash", str(script), str(tmp_path / "rerun")], capture_output=True, text=True
    )
    assert rerun.returncode == 1
    assert "cmf: input data/in.txt must have digest md5:" in rerun.stderr
    assert "nothing was run" in rerun.stderr and "ran" not in rerun.stdout


def test_cmf_reproduce_prints_the_recipe_and_json(store_url: str) -> None:
    with Store(store_url) as store:
        run = execution(store, "train", inputs=[("data/raw.csv", d(1))], command="make train")
        store.end_execution(run, status=ExecutionStatus.COMPLETED)
    runner = CliRunner()
    result = runner.invoke(cli, ["--store", store_url, "reproduce", run])
    assert result.exit_code == 0
    assert "make train" in result.stdout and "data/raw.csv" in result.stdout
    result = runner.invoke(cli, ["--store", store_url, "reproduce", run, "--json"])
    assert json.loads(result.stdout)["inputs"][0]["digest"] == d(1)
    result = runner.invoke(cli, ["--store", store_url, "reproduce", run, "--json", "--script"])
    assert result.exit_code == 2 and "not both" in result.stderr


def test_the_recorded_command_runs_from_the_checkout(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        running = execution(store, "train", git_commit_start="a" * 40, command="x")
        recipe = reproduce(store, running)
    assert "The run never ended (still running, or killed)" in recipe.warnings[-2]
    cases = {
        "/srv/fraud/src/train.py --lr 0.1": '"$python" ./src/train.py --lr 0.1',
        "/usr/bin/python3 /srv/fraud/train.py": "/usr/bin/python3 ./train.py",
        "python /srv/fraud/a.py --in /srv/fraud/d/x --out=/srv/fraud/o /srv/fraudx /etc/f": (
            "python ./a.py --in ./d/x --out=./o /srv/fraudx /etc/f"
        ),
        "python 'it''s.py": "bash -c 'python '\"'\"'it'\"'\"''\"'\"'s.py'",
        "   ": 'echo "cmf: the recorded command is empty." >&2; exit 1',
    }
    for recorded, expected in cases.items():
        script = reproduce_script(
            recipe.model_copy(update={"command": recorded}), source_root="/srv/fraud"
        )
        assert f"\n{expected}\n" in script, recorded
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_a_commit_that_moved_during_the_run_is_a_warning(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        store.record_artifact(ArtifactRow(d(5), "dataset", 1, None, {}))
        run = execution(store, "train", git_commit_start="a" * 40, environment_digest=d(6))
        store.end_execution(run, status=ExecutionStatus.COMPLETED, git_commit_end="b" * 40)
        recipe = reproduce(store, run)
    assert recipe.warnings == [
        f"HEAD moved from {'a' * 40} to {'b' * 40} during the run; the recipe uses the commit "
        "it started at.",
        "No command was recorded; run the stage the way it was run.",
        f"The environment {d(6)} is not in the store.",
    ]


def test_inputs_recorded_outside_the_project_are_never_replaced(
    tmp_path: Path, sqlite_url: str
) -> None:
    # The script runs in work/new; `../victim.txt` there is the user's work/victim.txt.
    work, source = tmp_path / "work", tmp_path / "src"
    (work / "new").mkdir(parents=True)
    source.mkdir()
    (tmp_path / "victim.txt").write_text("recorded\n")  # what $source_root/../victim.txt holds
    (work / "victim.txt").write_text("mine\n")
    (tmp_path / "abs.txt").write_text("mine too\n")
    (source / str(tmp_path).lstrip("/")).mkdir(parents=True)
    (source / str(tmp_path).lstrip("/") / "abs.txt").write_text("recorded\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("mine\n")
    (work / "new" / "data").symlink_to(outside)  # the checkout has a link out of it
    (source / "data").mkdir()
    (source / "data" / "x.txt").write_text("recorded\n")
    recorded = hash_path(tmp_path / "victim.txt").digest
    inputs = [("../victim.txt", recorded), (str(tmp_path / "abs.txt"), recorded)]
    inputs.append(("data/x.txt", recorded))
    with Store(sqlite_url) as store:
        run = execution(store, "train", inputs=inputs, command="true")
        recipe = reproduce(store, run)
    script = reproduce_script(recipe, source_root=source)
    assert "# warning: input ../victim.txt was recorded outside the project" in script
    result = subprocess.run(
        ["bash", "-c", script, "reproduce", str(work / "new")],
        cwd=work,
        env={**os.environ, "CMF_PYTHON": sys.executable},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert (work / "victim.txt").read_text() == "mine\n"
    assert (tmp_path / "abs.txt").read_text() == "mine too\n"
    assert (outside / "x.txt").read_text() == "mine\n"
    assert "cmf: input ../victim.txt is outside the project and differs" in result.stderr
    assert "would be written outside" in result.stderr
    assert "3 input(s) missing" in result.stderr


def test_a_commit_that_is_not_hexadecimal_is_never_checked_out(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        run = execution(store, "train", git_commit_start="--output=/tmp/x", command="true")
        recipe = reproduce(store, run)
    script = reproduce_script(recipe, source_root="/srv/fraud")
    assert "git clone" not in script and "worktree add" not in script
    assert "is not a hexadecimal Git object name" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_a_command_run_from_a_jupyter_kernel_is_a_warning_in_the_script(sqlite_url: str) -> None:
    command = "/usr/bin/python3 -m ipykernel_launcher -f /run/kernel-1.json"
    with Store(sqlite_url) as store:
        run = execution(store, "train", git_commit_start="a" * 40, command=command)
        recipe = reproduce(store, run)
    script = reproduce_script(recipe, source_root="/srv/fraud")
    assert "# warning: the run was made from a Jupyter kernel (ipykernel)" in script
    assert "echo 'cmf: warning: the run was made from a Jupyter kernel" in script
    plain = reproduce_script(recipe.model_copy(update={"command": "make"}), source_root="/srv")
    assert "ipykernel" not in plain


def test_the_script_reruns_a_cmflib_run_that_committed_step_metrics(
    project: Path, tmp_path: Path
) -> None:
    (project / ".gitignore").write_text(".cmf/\ndata/\nmodel.txt\n")
    (project / "train.py").write_text(
        "from pathlib import Path\n"
        "from cmf_core import Cmf\n"
        "metawriter = Cmf(filepath='mlmd', pipeline_name='demo')\n"
        "metawriter.create_context(pipeline_stage='train')\n"
        "metawriter.create_execution(execution_type='Train')\n"
        "metawriter.log_dataset('data/in.txt', 'input')\n"
        "for epoch in (1, 2):\n"
        "    metawriter.log_metric('training', {'loss': 1 / epoch})\n"
        "metawriter.commit_metrics('training')\n"
        "Path('model.txt').write_text(Path('data/in.txt').read_text().upper())\n"
        "metawriter.log_model('model.txt', 'output')\n"
        "metawriter.log_execution_metrics('summary', {'auc': 0.5})\n"
        "metawriter.finalize()\n"
    )
    git(project, "add", ".gitignore", "train.py")
    git(project, "commit", "-q", "-m", "add train.py")
    (project / "data").mkdir()
    (project / "data" / "in.txt").write_text("hello\n")
    env = {**os.environ, "CMF_PYTHON": sys.executable}
    trained = subprocess.run(
        [sys.executable, "train.py"], cwd=project, env=env, capture_output=True, text=True
    )
    assert trained.returncode == 0, trained.stderr
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        (recorded,) = store.list_executions()
    runner = CliRunner()
    result = runner.invoke(cli, ["reproduce", recorded.id, "--script"])
    assert result.exit_code == 0, result.output
    assert f"cmf_artifacts/{recorded.id}/" not in result.stdout.replace(
        f"under cmf_artifacts/{recorded.id}/", ""
    )
    script = tmp_path / "reproduce.sh"
    script.write_text(result.stdout)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    rerun = subprocess.run(
        ["bash", str(script), "rerun"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "metrics/training.csv matches" in rerun.stderr
    assert "metrics/summary.json matches" in rerun.stderr
    (folder,) = (elsewhere / "rerun" / "cmf_artifacts").glob("*/metrics")
    assert folder.parent.name != recorded.id  # the new run wrote under its own id
