"""`cmf annotate` and the labels and notes `cmf show` prints, through click's runner."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_core.tracking import Cmf
from cmf_mcp.cli.main import cli
from tests.conftest import git


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def run_id(project: Path) -> str:
    git(project, "config", "user.name", "Ana Lima")
    (project / "raw.csv").write_text("x\n1\n")
    with Cmf(pipeline="fraud", capture_environment=False) as cmf, cmf.execution("train") as run:
        run.log_dataset("raw.csv")
    return run.id


def test_annotate_labels_and_notes_and_show_prints_them(run_id: str) -> None:
    code, out, _ = invoke("annotate", "raw.csv", "quality=bad", "-m", "label noise [batch 3]")
    assert code == 0
    assert out.startswith("Annotated artifact md5:")
    assert "quality = bad; note: label noise [batch 3] (by Ana Lima)" in out
    code, out, _ = invoke("annotate", run_id[:13], "stage=prod", "owner=ana", "--json")
    recorded = json.loads(out)
    assert [(a["key"], a["value"], a["target_key"]) for a in recorded] == [
        ("stage", "prod", run_id),
        ("owner", "ana", run_id),
    ]
    assert invoke("annotate", run_id, "stage=")[1].endswith("stage cleared (by Ana Lima).\n")
    assert invoke("annotate", run_id, "-m", "a dead end")[0] == 0

    code, out, _ = invoke("show", "raw.csv")
    assert "labels  quality = bad" in out
    assert "Ana Lima: quality = bad — label noise [batch 3]" in out
    shown = json.loads(invoke("show", run_id, "--json")[1])
    assert shown["labels"] == {"owner": "ana"}
    assert [(a["key"], a["value"], a["note"]) for a in shown["annotations"]] == [
        ("stage", "prod", None),
        ("owner", "ana", None),
        ("stage", None, None),
        ("note", None, "a dead end"),
    ]
    code, out, _ = invoke("ls", "artifacts", "--where", 'labels.quality = "bad"', "--json")
    assert [row["path"] for row in json.loads(out)] == ["raw.csv"]


def test_a_record_without_annotations_shows_as_before(run_id: str) -> None:
    code, out, _ = invoke("show", run_id)
    lines = out.splitlines()  # (the recorded command line may hold any word)
    assert (
        code == 0
        and lines
        and not any(line.startswith(("labels", "annotations")) for line in lines)
    )
    assert "annotations" not in json.loads(invoke("show", run_id, "--json")[1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["quality"], "'quality' is not KEY=VALUE"),
        ([], "Give at least one KEY=VALUE or a note with -m TEXT"),
        (["ok=1", "bad key=2"], "Cannot annotate with the key 'bad key'"),
    ],
)
def test_bad_input_says_what_to_do_and_records_nothing(
    run_id: str, args: list[str], message: str
) -> None:
    code, _, err = invoke("annotate", run_id, *args)
    assert code in (1, 2) and message in err
    assert "annotations" not in json.loads(invoke("show", run_id, "--json")[1])


def test_an_unknown_reference_is_an_error_line(run_id: str) -> None:
    code, _, err = invoke("annotate", "nothing/here.csv", "quality=bad")
    assert code == 1
    assert err.startswith("Error: No artifact was logged under the path")
