"""DVC compatibility both ways, with the real `dvc` command and real Git clones in tmp_path.

cmf → DVC: log with ``track_with_dvc``, ``cmf artifact push`` to the DVC repo's
own remote, and ``dvc pull`` in a fresh clone gets the same bytes. DVC → cmf:
``dvc add`` / ``dvc repro`` + ``dvc push`` in one clone, ``cmf dvc ingest`` +
``cmf artifact pull`` in another.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmf_core import Cmf
from cmf_core.store import Store

BIN = Path(sys.executable).parent
DVC, CMF = str(BIN / "dvc"), str(BIN / "cmf")

pytestmark = pytest.mark.dvc


def run(cwd: Path, *command: str) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def dvc_repo(root: Path, remote: Path) -> Path:
    root.mkdir()
    run(root, "git", "init", "-q", "-b", "main")
    run(root, DVC, "init", "-q")
    run(root, DVC, "remote", "add", "-d", "storage", str(remote))
    run(root, "git", "add", ".dvc")
    run(root, "git", "commit", "-q", "-m", "dvc init")
    return root


def test_what_cmf_logs_and_pushes_dvc_pulls_in_a_fresh_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = dvc_repo(tmp_path / "repo", tmp_path / "remote")
    (repo / "data" / "images").mkdir(parents=True)
    (repo / "data" / "train.csv").write_bytes(b"x,y\n1,2\n")
    for index in range(3):
        (repo / "data" / "images" / f"{index}.png").write_bytes(os.urandom(3000))
    monkeypatch.chdir(repo)
    store = f"sqlite:///{tmp_path / 'metadata.db'}"
    cmf = Cmf(pipeline="vision", store=store, track_with_dvc=True)
    with cmf, cmf.execution("prepare") as execution:
        execution.log_dataset("data/train.csv")
        execution.log_dataset("data/images", event="output")
    assert (repo / ".dvc" / "cache" / "files" / "md5").is_dir()  # DVC's own cache
    run(repo, "git", "add", "data/train.csv.dvc", "data/images.dvc", "data/.gitignore")
    run(repo, "git", "commit", "-q", "-m", "data logged by cmf")
    pushed = run(repo, CMF, "--store", store, "artifact", "push")
    assert "for 2 artifact(s), remote 'storage'" in pushed  # DVC's remote, from .dvc/config
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    run(clone, DVC, "pull", "-q")
    assert (clone / "data" / "train.csv").read_bytes() == b"x,y\n1,2\n"
    for index in range(3):
        name = f"{index}.png"
        assert (clone / "data" / "images" / name).read_bytes() == (
            repo / "data" / "images" / name
        ).read_bytes()


def test_dvc_runs_are_ingested_and_their_bytes_pulled_by_cmf_in_another_clone(
    tmp_path: Path,
) -> None:
    repo = dvc_repo(tmp_path / "repo", tmp_path / "remote")
    (repo / "raw.csv").write_bytes(b"a\n1\n2\n")
    (repo / "params.yaml").write_text("seed: 7\n")
    run(repo, DVC, "add", "-q", "raw.csv")
    run(
        repo, DVC, "stage", "add", "-q", "-n", "prepare", "-d", "raw.csv", "-p", "seed",
        "-o", "clean.csv", "cp raw.csv clean.csv",
    )  # fmt: skip
    run(repo, DVC, "repro", "-q")
    run(repo, DVC, "push", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "a dvc pipeline")
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    store = f"sqlite:///{tmp_path / 'metadata.db'}"
    out = run(clone, CMF, "--store", store, "dvc", "ingest", "--pipeline", "etl")
    assert "Recorded 2 execution(s)" in out
    again = run(clone, CMF, "--store", store, "dvc", "ingest", "--pipeline", "etl")
    assert "Recorded 0 execution(s)" in again and "2 already recorded" in again
    with Store(store) as opened:
        (prepare,) = opened.list_executions(pipeline="etl", stage="prepare")
        detail = opened.get_execution_detail(prepare.id)
    assert prepare.command == "cp raw.csv clean.csv" and prepare.params == {"params.yaml:seed": 7}
    assert [e.path for e in detail.inputs] == ["raw.csv"]
    assert [e.path for e in detail.outputs] == ["clean.csv"]
    raw_md5 = hashlib.md5(b"a\n1\n2\n").hexdigest()
    assert detail.inputs[0].artifact.digest == f"md5:{raw_md5}"
    run(clone, CMF, "--store", store, "artifact", "pull", "--execution", prepare.id)
    assert (clone / "raw.csv").read_bytes() == b"a\n1\n2\n"  # the run's input, restored
    run(clone, CMF, "--store", store, "artifact", "pull", "--pipeline", "etl")
    run(clone, DVC, "checkout", "-q")  # DVC finds in its cache what cmf pulled
    assert (clone / "clean.csv").read_bytes() == b"a\n1\n2\n"
