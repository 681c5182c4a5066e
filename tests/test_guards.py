"""Guards: the public API, the direction of imports, and the README's commands."""

import re
import subprocess
import sys
from pathlib import Path

import cmf_core

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves() -> None:
    for name in cmf_core.__all__:
        assert getattr(cmf_core, name) is not None, name


def test_importing_cmf_core_loads_no_surface_and_no_heavy_library() -> None:
    code = (
        "import sys, cmf_core; "
        "print(' '.join(sorted(m for m in ('mcp', 'fastapi', 'click', 'starlette', 'sqlalchemy', "
        "'git', 'dvc', 'rich', 'alembic') if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_cmf_core_source_never_imports_a_surface() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+(cmf_mcp|mcp|fastapi|click|starlette|uvicorn)\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "cmf_core").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.match(line)
    ]
    assert offenders == []


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = readme_commands()[1]
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci


def test_the_get_started_example_runs_end_to_end(tmp_path: Path) -> None:
    workdir = tmp_path / "get_started"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "get_started" / "run.py"), str(workdir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    listing = result.stdout.split("cmf ls executions", 1)[1]
    for stage in ("prepare", "featurize", "train", "evaluate"):
        assert re.search(rf"fraud-detection\s+{stage}\s+completed", listing), stage
    assert "Warning" not in result.stderr, result.stderr
    assert not re.search(r"completed .*\*\s*$", listing, flags=re.M)  # clean Git state
    traced = result.stdout.split("cmf trace models/model.json", 1)[1]
    for stage in ("train", "featurize", "prepare"):
        assert f"fraud-detection/{stage}" in traced
    assert "raw sources" in traced and "data/raw/transactions.csv" in traced


def test_the_readme_quickstart_names_only_real_methods() -> None:
    from cmf_core.tracking import Cmf, Run

    text = (ROOT / "README.md").read_text()
    for name in set(re.findall(r"\brun\.(\w+)\(", text)):
        assert hasattr(Run, name), name
    for name in set(re.findall(r"\bcmf\.(\w+)\(", text)) - {"Cmf"}:
        assert hasattr(Cmf, name), name
