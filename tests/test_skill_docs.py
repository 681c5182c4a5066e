"""The cmf Agent Skill: every command and snippet in it runs as written; it installs; the
Claude Code plugin manifest bundles it with the MCP server."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from click.testing import CliRunner

from cmf_core.store import Store
from cmf_mcp.cli.main import cli
from cmf_mcp.skill import SKILL_NAME, skill_files
from tests.conftest import git
from tests.mcp_support import connect, make_server

ROOT = Path(__file__).resolve().parent.parent
SKILL = skill_files()["SKILL.md"].decode("utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def front_matter(text: str) -> dict[str, str]:
    assert text.startswith("---\n"), "SKILL.md starts with YAML front matter"
    header = text.split("---\n", 2)[1]
    loaded: dict[str, str] = yaml.safe_load(header)
    return loaded


def prose(text: str) -> str:
    """The skill without its front matter and fenced blocks."""
    return FENCE.sub("", text.split("---\n", 2)[2])


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_skill_has_the_agentskills_front_matter() -> None:
    meta = front_matter(SKILL)
    assert set(meta) == {"name", "description"}
    assert meta["name"] == SKILL_NAME
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", meta["name"]) and len(meta["name"]) <= 64
    assert 0 < len(meta["description"]) <= 1024 and "Use when" in meta["description"]
    assert (ROOT / "cmf_mcp" / "skill" / SKILL_NAME / "SKILL.md").read_text() == SKILL


def test_every_command_and_snippet_in_the_skill_runs_as_written(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "train.csv").write_text("x,y\n1,2\n3,4\n")  # the user's data
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "data")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    blocks = FENCE.findall(SKILL)
    assert {lang for lang, _ in blocks} == {"bash", "python"}, "only runnable blocks"
    for lang, body in blocks:
        if lang == "python":
            first = body.splitlines()[0]
            name = first.removeprefix("# ").strip()
            assert first.startswith("# ") and name.endswith(".py"), "a snippet names its file"
            (project / name).write_text(body)
            continue
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", body],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{body}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        assert "Traceback" not in done.stderr

    # What the skill says the snippets record is what the store holds.
    with Store(f"sqlite:///{project / '.cmf' / 'metadata.db'}") as store:
        runs = {e.stage: e for e in store.list_executions()}
        assert {stage: e.status.value for stage, e in runs.items()} == {
            "train": "completed",
            "evaluate": "completed",
        }
        train = store.get_execution_detail(runs["train"].id)
        assert train.execution.params == {"lr": 0.01, "epochs": 3}
        assert [e.path for e in train.inputs] == ["data/train.csv"]
        assert [(e.path, e.artifact.type.value) for e in train.outputs] == [
            ("models/model.json", "model")
        ]
        assert {m.name for m in train.metrics} == {"accuracy", "final_loss"}
        assert train.step_metrics == {"loss": 3}
        evaluate = store.get_execution_detail(runs["evaluate"].id)
        assert evaluate.execution.params == {"threshold": 0.5}
        assert [e.path for e in evaluate.inputs] == ["models/model.json"]
        assert [m.name for m in evaluate.metrics] == ["auc"]
        model = train.outputs[0].artifact.digest
        assert store.current_labels("artifact", model)["stage"].value == "prod"


def test_the_skill_names_only_tools_the_server_has(sqlite_url: str, bare_project: Path) -> None:
    with connect(make_server(sqlite_url)) as client:
        tools = {tool.name for tool in client.run("list_tools").tools}
    text = prose(SKILL)
    called = set(re.findall(r"(?<![.\w])([a-z][a-z_]*)\(", text))
    assert called <= tools, f"not tools: {sorted(called - tools)}"
    mcp_column = [row.split("|")[2] for row in text.splitlines() if row.startswith("| ")]
    named = {n for cell in mcp_column for n in re.findall(r"`([a-z_]+)[`(]", cell)}
    assert named and named <= tools, f"not tools: {sorted(named - tools)}"
    recording = ["start_execution", "log_artifact", "log_metrics", "end_execution"]
    assert " → ".join(f"`{t}`" for t in recording) in text


def test_skill_install_copies_the_skill_into_the_project_and_keeps_edits(
    project: Path, tmp_path: Path
) -> None:
    installed = project / ".claude" / "skills" / "cmf" / "SKILL.md"
    code, out, _ = invoke("skill", "install")
    assert code == 0 and out == f"cmf skill installed in {installed.parent}\n"
    assert installed.read_text() == SKILL
    assert invoke("skill", "install")[1].startswith("cmf skill unchanged")

    installed.write_text(SKILL + "\nMy own note.\n")
    code, out, err = invoke("skill", "install")
    assert code == 1 and out == ""
    assert err == (
        f"Error: {installed} already holds another version of the cmf skill; "
        "pass --force to replace it with this cmf's.\n"
    )
    assert installed.read_text().endswith("My own note.\n")  # nothing lost
    assert invoke("skill", "install", "--force")[1].startswith("cmf skill updated")
    assert installed.read_text() == SKILL

    code, out, _ = invoke("skill", "install", "--user")
    assert code == 0 and (Path.home() / ".claude" / "skills" / "cmf" / "SKILL.md").is_file()
    code, out, _ = invoke("skill", "install", "--dir", str(tmp_path / "agents"))
    assert code == 0 and (tmp_path / "agents" / "cmf" / "SKILL.md").read_text() == SKILL
    code, _, err = invoke("skill", "install", "--dir", "x", "--user")
    assert code == 2 and "Give --dir or --user, not both." in err


def test_the_claude_code_plugin_bundles_the_skill_and_the_mcp_server() -> None:
    manifest = json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["name"] == "cmf" and manifest["version"] == project["version"]
    assert manifest["license"] == project["license"]
    [skill_dir] = manifest["skills"]
    shipped = (ROOT / skill_dir / "SKILL.md").read_text()
    assert shipped == SKILL and front_matter(shipped)["name"] == "cmf"
    server = manifest["mcpServers"]["cmf"]
    assert server["command"] in project["scripts"]  # the console script pip installs
    assert project["scripts"][server["command"]] == "cmf_mcp.cli.serve:main"


def test_the_skill_ships_inside_the_package_and_nothing_excludes_it_from_the_wheel() -> None:
    from importlib.resources import files

    assert (files("cmf_mcp.skill") / SKILL_NAME / "SKILL.md").is_file()
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert "cmf_mcp" in wheel["targets"]["wheel"]["packages"]  # hatch ships its data files
    assert "exclude" not in wheel["targets"]["wheel"]
