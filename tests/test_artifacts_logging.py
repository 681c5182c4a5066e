"""Logging keeps the bytes: into the content store as configured, and .dvc files on request."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from cmf_core import Cmf
from cmf_core.artifacts.cache import Cache


def test_logged_inputs_and_outputs_are_cached_once_by_default(
    project: Path, sqlite_url: str
) -> None:
    (project / "data.csv").write_bytes(b"x\n1\n")
    (project / "model.bin").write_bytes(b"weights")
    with Cmf(pipeline="p", store=sqlite_url) as cmf:
        for stage in ("train", "retrain"):
            with cmf.execution(stage) as run:
                run.log_dataset("data.csv")
                run.log_model("model.bin")
    cache = Cache.for_project(project)
    assert sorted(cache.iter_oids()) == sorted(
        hashlib.md5(data).hexdigest() for data in (b"x\n1\n", b"weights")
    )
    assert (project / "model.bin").stat().st_mode & 0o200  # the user's file stays writable


def test_caching_inputs_can_be_turned_off(
    project: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMF_CACHE_INPUTS", "false")
    (project / "raw.csv").write_bytes(b"raw")
    (project / "out.csv").write_bytes(b"out")
    with Cmf(pipeline="p", store=sqlite_url) as cmf, cmf.execution("s") as run:
        run.log_dataset("raw.csv")
        run.log_dataset("out.csv", event="output")
    assert list(Cache.for_project(project).iter_oids()) == [hashlib.md5(b"out").hexdigest()]


def test_track_with_dvc_writes_the_dvc_file_dvc_add_would(project: Path, sqlite_url: str) -> None:
    (project / "data").mkdir()
    (project / "data" / "train.csv").write_bytes(b"a,b\n")
    cmf = Cmf(pipeline="p", store=sqlite_url, track_with_dvc=True)
    with cmf, cmf.execution("s") as run:
        run.log_dataset("data/train.csv")
    md5 = hashlib.md5(b"a,b\n").hexdigest()
    assert (project / "data" / "train.csv.dvc").read_text() == (
        f"outs:\n- md5: {md5}\n  size: 4\n  hash: md5\n  path: train.csv\n"
    )
    assert (project / "data" / ".gitignore").read_text() == "/train.csv\n"


def test_importing_cmf_does_not_import_dvc() -> None:
    code = (
        "import sys; from cmf_core import Cmf; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dvc', 'dvc_data', 'dvc_objects', 'fsspec')))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
