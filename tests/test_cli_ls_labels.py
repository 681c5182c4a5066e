"""Labels in `cmf ls executions|artifacts`: a column only when a row has labels, and --json."""

import json
from pathlib import Path

from click.testing import CliRunner

from cmf_core.annotate import annotate
from cmf_core.store import Store
from cmf_core.tracking import Cmf
from cmf_mcp.cli.main import cli


def record(store_url: str, project: Path) -> dict[str, str]:
    (project / "raw.csv").write_text("a\n")
    (project / "model.pkl").write_text("m")
    with Cmf(
        pipeline="fraud", store=store_url, capture_git=False, capture_environment=False
    ) as cmf:
        with cmf.execution("prepare") as prep:
            prep.log_dataset("raw.csv")
        with cmf.execution("train") as train:
            train.log_model("model.pkl", event="output")
    return {"prepare": prep.id, "train": train.id}


def ls(store_url: str, *args: str) -> str:
    env = {"CMF_STORE_URL": store_url, "COLUMNS": "250"}
    result = CliRunner().invoke(cli, ["ls", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def header(output: str) -> list[str]:
    return output.splitlines()[0].split()


def test_no_labels_no_column_but_json_says_so(bare_project: Path, sqlite_url: str) -> None:
    record(sqlite_url, bare_project)
    assert "labels" not in header(ls(sqlite_url, "executions"))
    assert "labels" not in header(ls(sqlite_url, "artifacts"))
    assert [r["labels"] for r in json.loads(ls(sqlite_url, "executions", "--json"))] == [{}, {}]
    assert [r["labels"] for r in json.loads(ls(sqlite_url, "artifacts", "--json"))] == [{}, {}]


def test_labels_show_in_a_bounded_column_and_in_json(bare_project: Path, sqlite_url: str) -> None:
    ids = record(sqlite_url, bare_project)
    with Store(sqlite_url) as store:
        for key in ("a", "b", "c", "d", "e"):
            annotate(store, ids["train"], key, f"value-{key}", author="ana")
        annotate(store, ids["train"], "long", "x" * 80, author="ana")
        annotate(store, "raw.csv", "quality", "[bold]bad[/bold]", author="ana")
    table = ls(sqlite_url, "executions")
    assert header(table)[-1] == "labels"
    train = next(line for line in table.splitlines() if line.startswith(ids["train"]))
    assert train.endswith("a=value-a b=value-b c=value-c +3")
    prepare = next(line for line in table.splitlines() if line.startswith(ids["prepare"]))
    assert "=" not in prepare
    rows = {r["id"]: r["labels"] for r in json.loads(ls(sqlite_url, "executions", "--json"))}
    assert rows[ids["train"]]["long"] == "x" * 80 and len(rows[ids["train"]]) == 6
    assert rows[ids["prepare"]] == {}
    artifacts = ls(sqlite_url, "artifacts")
    assert header(artifacts)[-1] == "labels"
    assert "quality=[bold]bad[/bold]" in artifacts  # printed as text, never as markup
    hits = {r["path"]: r["labels"] for r in json.loads(ls(sqlite_url, "artifacts", "--json"))}
    assert hits == {"raw.csv": {"quality": "[bold]bad[/bold]"}, "model.pkl": {}}
