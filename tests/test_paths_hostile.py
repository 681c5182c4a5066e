"""Hostile paths: a link swapped while log_artifact reads, file names that are not UTF-8,
symbolic link loops and dangling links — on the Python API, `cmf run`, `cmf show` /
`cmf lineage` and the MCP tools."""

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp_support import connect, make_server

from cmf_core import Cmf
from cmf_core.errors import InvalidInputError
from cmf_core.hashing import hash_path
from cmf_core.store import Store

CMF = str(Path(sys.executable).parent / "cmf")
BAD = os.fsdecode(b"caf\xe9.csv")  # Latin-1 bytes: not UTF-8


def dvc_digest(folder: Path) -> str:
    """The digest dvc-data's own build gives a directory."""
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    fs = LocalFileSystem()
    with tempfile.TemporaryDirectory() as odb_dir:
        _, _, obj = build(HashFileDB(fs, odb_dir), str(folder), fs, "md5")
    return f"md5:{obj.hash_info.value}"


def cmf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CMF, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture
def hostile(project: Path) -> Path:
    """data/ holding a file whose name is not UTF-8; a link loop; a dangling link."""
    (project / "data").mkdir()
    (project / "data" / BAD).write_bytes(b"1,2\n")
    (project / "data" / "ok.csv").write_text("x\n")
    (project / "loop").symlink_to("loop")
    (project / "dangling").symlink_to("nowhere")
    return project


# -- the symlink race ------------------------------------------------------------------------


def test_a_link_swapped_during_300_log_artifact_calls_never_records_the_outside_file(
    project: Path, sqlite_url: str
) -> None:
    outside = project.parent / "outside.bin"
    outside.write_bytes(b"secret outside the project")
    inside = project / "inside.bin"
    inside.write_bytes(b"inside")
    link = project / "swapped.bin"
    link.symlink_to(inside)
    stop = threading.Event()

    def swap() -> None:
        temporary = project / "swapped.tmp"
        while not stop.is_set():
            for target in (outside, inside):
                temporary.unlink(missing_ok=True)
                temporary.symlink_to(target)
                os.replace(temporary, link)

    outside_digest = hash_path(outside).digest
    swapper = threading.Thread(target=swap)
    server = make_server(sqlite_url)
    logged = refused = 0
    with connect(server) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        swapper.start()
        try:
            for _ in range(300):
                result = client.call(
                    "log_artifact", {"execution_id": run, "path": "swapped.bin", "event": "input"}
                )
                if result.is_error:
                    refused += 1
                else:
                    assert result.structured_content is not None
                    assert result.structured_content["digest"] != outside_digest
                    logged += 1
        finally:
            stop.set()
            swapper.join()
    with Store(sqlite_url) as store:
        digests = set(store.find_artifacts_by_path("swapped.bin"))
    assert outside_digest not in digests and digests == {hash_path(inside).digest}
    assert logged + refused == 300 and refused > 0  # the swaps did reach the checks


def test_a_file_check_refuses_a_descriptor_opened_outside_the_roots(project: Path) -> None:
    outside = project.parent / "elsewhere.txt"
    outside.write_text("s")
    (project / "link.txt").symlink_to(outside)
    with pytest.raises(InvalidInputError, match="led outside the project"):
        hash_path(project / "link.txt", within=[project])
    (project / "folder").mkdir()
    (project / "folder" / "link.txt").symlink_to(outside)
    with pytest.raises(InvalidInputError, match="'folder/link.txt' led outside"):
        hash_path(project / "folder", within=[project])
    assert hash_path(project / "train.py", within=[project]).digest.startswith("md5:")


# -- file names that are not UTF-8 -------------------------------------------------------------

NAME_BYTES = st.binary(min_size=1, max_size=24).filter(
    lambda raw: (
        b"/" not in raw
        and b"\0" not in raw
        and raw not in (b".", b"..", b".git", b".dvc", b".hg", b".dvcignore")
    )
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(NAME_BYTES, min_size=1, max_size=6, unique=True))
def test_any_byte_file_name_dvc_accepts_is_hashed_as_dvc_hashes_it(names: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "tree"
        os.makedirs(os.fsencode(folder / "sub"))
        for index, raw in enumerate(names):
            where = os.fsencode(folder / ("sub" if index % 2 else ""))
            with open(os.path.join(where, raw), "wb") as file:
                file.write(raw * (index + 1))
        assert hash_path(folder).digest == dvc_digest(folder)
        assert hash_path(folder, workers=1).digest == dvc_digest(folder)


def test_the_python_api_logs_a_folder_holding_a_name_that_is_not_utf8(hostile: Path) -> None:
    with Cmf(pipeline="p") as recorder, recorder.execution("s") as run:
        first = run.log_dataset("data")
        again = run.log_dataset("data")  # the stat cache neither stores nor breaks on it
        assert first.digest == again.digest == dvc_digest(hostile / "data")
        with pytest.raises(InvalidInputError, match=r"b'data/caf\\xe9.csv' is not valid UTF-8"):
            run.log_dataset(f"data/{BAD}")


def test_cmf_run_records_a_folder_holding_a_name_that_is_not_utf8(hostile: Path) -> None:
    result = cmf("run", "--pipeline", "p", "--stage", "s", "-i", "data", "--", "true", cwd=hostile)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "completed" in result.stderr
    with Store(f"sqlite:///{hostile / '.cmf' / 'metadata.db'}") as store:
        assert store.find_artifacts_by_path("data") == [dvc_digest(hostile / "data")]


@pytest.mark.parametrize(
    ("given_path", "said"),
    [
        ("loop", "'loop' is a symbolic link loop"),
        ("dangling", "'dangling' is a symbolic link to"),
        (f"data/{BAD}", r"b'data/caf\xe9.csv' is not valid UTF-8"),
    ],
)
def test_cmf_run_refuses_a_loop_a_dangling_link_or_a_non_utf8_path_in_one_line(
    hostile: Path, given_path: str, said: str
) -> None:
    argv: list[str | bytes] = [
        CMF,
        "run",
        "--pipeline",
        "p",
        "--stage",
        "s",
        "-i",
        os.fsencode(given_path),
    ]
    result = subprocess.run(
        [*argv, "--", "true"],
        cwd=hostile,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert said in one_error_line(result)


@pytest.mark.parametrize("command", ["show", "lineage"])
def test_cmf_show_and_lineage_name_a_link_loop_in_one_line(hostile: Path, command: str) -> None:
    with Cmf(pipeline="p") as recorder, recorder.execution("s") as run:
        run.log_dataset("data")
    assert "'loop'" in one_error_line(cmf(command, "loop", cwd=hostile))


def test_mcp_tools_handle_non_utf8_names_and_link_loops_with_plain_errors(
    hostile: Path, sqlite_url: str
) -> None:
    with connect(make_server(sqlite_url)) as client:
        run = client.ok("start_execution", {"pipeline": "p", "stage": "s"})["execution_id"]
        logged = client.ok("log_artifact", {"execution_id": run, "path": "data", "event": "input"})
        assert logged["digest"] == dvc_digest(hostile / "data")
        loop = client.error("log_artifact", {"execution_id": run, "path": "loop", "event": "input"})
        assert "'loop'" in loop
        assert "'loop'" in client.error("get_artifact", {"reference": "loop"})
        assert "'loop'" in client.error("query_lineage", {"node": "loop"})
