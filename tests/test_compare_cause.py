"""compare_runs reaches the cause in a real Git work tree, through the MCP tool."""

from pathlib import Path

from conftest import git
from mcp_support import connect, make_server, text, write

from cmf_core.tracking import Cmf


def record_pipeline(url: str, raw: str, *, seed: int = 1, git: bool = True) -> dict[str, str]:
    """prepare → featurize → train on the raw file at ``raw``; the run ids."""
    ids = {}
    options = {"git_refresh_s": 0} if git else {"capture_git": False}
    with Cmf(pipeline="fraud", store=url, capture_environment=False, **options) as cmf:
        with cmf.execution("prepare", params={"seed": seed}) as run:
            run.log_dataset(raw, event="input")
            write(Path("data/prepared.csv"), Path(raw).read_text().upper() + str(seed))
            run.log_dataset("data/prepared.csv", event="output")
            ids["prepare"] = run.id
        with cmf.execution("featurize", params={"scale": "std"}) as run:
            run.log_dataset("data/prepared.csv", event="input")
            write(Path("data/features.csv"), Path("data/prepared.csv").read_text() * 2)
            run.log_dataset("data/features.csv", event="output")
            ids["featurize"] = run.id
        with cmf.execution("train", params={"lr": 0.1}) as run:
            run.log_dataset("data/features.csv", event="input")
            write(Path("models/model.pkl"), Path("data/features.csv").read_text()[::-1])
            run.log_model("models/model.pkl", event="output")
            ids["train"] = run.id
    return ids


def test_a_changed_raw_file_is_blamed_even_though_it_left_the_tree_dirty(
    project: Path, sqlite_url: str
) -> None:
    write(project / "data/raw.csv", "a,b\n1,2\n")
    git(project, "add", "data/raw.csv")
    git(project, "commit", "-q", "-m", "raw data")
    first = record_pipeline(sqlite_url, "data/raw.csv")
    write(project / "data/raw.csv", "a,b\n1,3\n")  # the work tree is now dirty
    second = record_pipeline(sqlite_url, "data/raw.csv")
    server = make_server(sqlite_url, capture_git=True)
    try:
        with connect(server) as client:
            result = client.ok("compare_runs", {"ids": [first["train"], second["train"]]})
            shown = text(client.call("compare_runs", {"ids": [first["train"], second["train"]]}))
    finally:
        server.close()
    (found,) = result["comparison"]["divergence"]
    assert (found["kind"], found["path"], found["hops"]) == ("source", "data/raw.csv", 3)
    assert found["also"] == [
        "featurize: uncommitted changes differ",
        "prepare: uncommitted changes differ",
    ]
    assert result["comparison"]["summary"][0].startswith("train inputs differ: data/features")
    assert "  - source at data/raw.csv, 3 hop(s) up" in shown
    assert "also (not the cause: inputs differ there too): prepare: uncommitted" in shown


def test_the_text_gives_the_full_ids_of_the_producers_that_differ(
    bare_project: Path, sqlite_url: str
) -> None:
    write(bare_project / "data/raw.csv", "a,b\n1,2\n")
    first = record_pipeline(sqlite_url, "data/raw.csv", seed=1, git=False)
    second = record_pipeline(sqlite_url, "data/raw.csv", seed=2, git=False)
    server = make_server(sqlite_url)
    try:
        with connect(server) as client:
            result = client.ok("compare_runs", {"ids": [first["train"], second["train"]]})
            shown = text(client.call("compare_runs", {"ids": [first["train"], second["train"]]}))
    finally:
        server.close()
    (found,) = result["comparison"]["divergence"]
    assert (found["kind"], found["path"], found["reasons"]) == (
        "settings",
        "data/prepared.csv",
        ["params differ in seed"],
    )
    assert [p["id"] for p in found["producers"]] == [first["prepare"], second["prepare"]]
    assert f"    produced by: {first['prepare']} vs {second['prepare']}" in shown
    assert "    differs: params differ in seed" in shown
