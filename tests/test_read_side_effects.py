"""Reading never writes: read commands create no store, folder or file and change no bytes."""

import hashlib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcp_support import connect, make_server, text

from cmf_core import Cmf
from cmf_core.errors import NotFoundError, StoreError
from cmf_core.store import Store
from cmf_mcp.cli.main import cli

FIXTURE_MLMD = Path(__file__).parent / "fixtures" / "cmflib" / "mlmd"
ID = "01a2172d-e345-72cb-890b-000000000000"
READS = [
    ["ls", "pipelines"],
    ["ls", "stages"],
    ["ls", "executions"],
    ["ls", "artifacts"],
    ["show", ID],
    ["lineage", ID],
    ["trace", "data.csv"],
    ["impact", "data.csv"],
    ["compare", ID, ID],
    ["metrics", ID],
    ["reproduce", ID],
    ["export", ID],
]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` with the md5 of each file's bytes."""
    return {
        str(path.relative_to(folder)): (
            hashlib.md5(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        )
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "nothing-here"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("CMF_STORE_URL", raising=False)
    return folder


@pytest.mark.parametrize("args", READS, ids=lambda args: "-".join(args[:2]))
def test_a_read_command_without_a_store_creates_nothing_and_says_cmf_init(
    empty_folder: Path, args: list[str]
) -> None:
    code, _, err = invoke(*args)
    assert code == 1
    assert "No cmf store here" in err and "`cmf init` makes one" in err
    assert snapshot(empty_folder) == {}


def test_store_naming_a_missing_folder_creates_no_folder(empty_folder: Path) -> None:
    code, _, err = invoke("--store", "missing/deeper/metadata.db", "ls", "executions")
    assert code == 1 and "No cmf store here" in err
    code, _, err = invoke("--store", "sqlite:///missing/metadata.db", "ls", "executions")
    assert code == 1 and "No cmf store here" in err
    assert snapshot(empty_folder) == {}


def test_a_filesystem_root_is_refused_as_a_project(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(Path.cwd().anchor)
    if (root / ".cmf").exists() or (root / ".git").exists():
        pytest.skip("the filesystem root of this machine is a project")
    monkeypatch.chdir(root)
    monkeypatch.delenv("CMF_STORE_URL", raising=False)
    code, _, err = invoke("ls", "executions")
    assert code == 1 and "No cmf store here" in err and "filesystem root" in err
    assert not (root / ".cmf").exists()


def test_reads_of_a_store_change_none_of_its_bytes_and_leave_no_journal_files(
    bare_project: Path,
) -> None:
    (bare_project / "data.csv").write_text("x\n1\n")
    cmf = Cmf(pipeline="fraud", capture_git=False, capture_environment=False)
    with cmf, cmf.execution("train") as run:
        run.log_dataset("data.csv")
        run.log_metrics({"accuracy": 0.9})
    before = snapshot(bare_project)
    assert ".cmf/metadata.db-wal" not in before
    for args in READS:
        invoke(*[run.id if part == ID else part for part in args])
    assert snapshot(bare_project) == before


@pytest.fixture
def cmflib_project(empty_folder: Path) -> Path:
    shutil.copyfile(FIXTURE_MLMD, empty_folder / "mlmd")
    return empty_folder


def test_an_mlmd_file_given_as_the_store_is_refused_and_left_byte_for_byte(
    cmflib_project: Path,
) -> None:
    before = snapshot(cmflib_project)
    code, _, err = invoke("--store", "mlmd", "ls", "executions")
    assert code == 1 and "this is an HPE CMF file" in err and "cmf import-mlmd" in err
    for read_only in (True, False):  # a write open refuses it untouched too
        with pytest.raises(StoreError, match="HPE CMF file"):
            Store(f"sqlite:///{cmflib_project / 'mlmd'}", read_only=read_only)
    assert snapshot(cmflib_project) == before


def test_a_read_that_finds_nothing_names_the_projects_mlmd_file(cmflib_project: Path) -> None:
    code, _, err = invoke("ls", "executions")
    assert code == 1 and "No cmf store here" in err
    assert "this is an HPE CMF file: `cmf import-mlmd mlmd`" in err
    assert snapshot(cmflib_project).keys() == {"mlmd"}
    (cmflib_project / ".cmf").mkdir()
    Store(f"sqlite:///{cmflib_project / '.cmf' / 'metadata.db'}").close()
    code, out, err = invoke("ls", "pipelines")
    assert code == 0 and "No pipelines recorded" in out
    assert "this is an HPE CMF file: `cmf import-mlmd mlmd`" in err
    code, _, err = invoke("import-mlmd", "mlmd")
    assert code == 0, err
    code, _, err = invoke("ls", "pipelines")
    assert code == 0 and "HPE CMF" not in err


def test_a_read_only_store_refuses_writes_and_creates_no_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="No cmf store here"):
        Store(f"sqlite:///{tmp_path / 'sub' / 'metadata.db'}", read_only=True)
    assert not (tmp_path / "sub").exists()
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    Store(url).close()
    with Store(url, read_only=True) as store, pytest.raises(StoreError):
        store.ensure_stage("fraud", "train")


def test_the_mcp_server_names_the_projects_mlmd_file_when_it_holds_nothing(
    cmflib_project: Path,
) -> None:
    (cmflib_project / ".cmf").mkdir()
    url = f"sqlite:///{cmflib_project / '.cmf' / 'metadata.db'}"
    Store(url).close()
    with connect(make_server(url, read_only=True)) as client:
        answer = text(client.call("list_pipelines"))
    assert "this is an HPE CMF file: `cmf import-mlmd mlmd`" in answer
    assert snapshot(cmflib_project)["mlmd"] == hashlib.md5(FIXTURE_MLMD.read_bytes()).hexdigest()
