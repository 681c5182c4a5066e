"""Every `cmf` command, given hostile input, fails with one `Error:` line and no traceback.

The command tree is walked from click's own objects, so a new command is covered
as soon as it is added. Each parameter in turn gets hostile values (a non-UTF-8
name, a huge integer, deeply nested JSON, a missing path, a very long text) while
the required others get plain ones. A few cases run as real processes: argv bytes
that are not UTF-8, `-p` with nested JSON or a huge integer, `cmf db upgrade` on a
store made by a newer cmf.
"""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cmf_core.tracking import Cmf
from cmf_mcp.cli.main import cli

NOT_UTF8 = b"caf\xe9".decode("utf-8", "surrogateescape")  # what Python makes of such argv
DEEP_JSON = "x=" + "[" * 30_000 + "]" * 30_000  # one argv string stays under 128 KiB
HUGE_INT = "9" * 5_000
HOSTILE_TEXT = [NOT_UTF8, HUGE_INT, "[" * 10_000, "x" * 100_000, "-", "..", "%s%n{0}"]
HOSTILE_INT = [HUGE_INT, "-" + HUGE_INT, "1e999", NOT_UTF8]
HOSTILE_PATH = ["/nonexistent/cmf/x", NOT_UTF8, "x" * 5_000, "."]
# Commands that serve until stopped: only their parsing is attacked (integers, paths).
SERVING = {("mcp",), ("ui",)}


def leaf_commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*path, name))
        else:
            yield (*path, name), command


def plain_value(param: click.Parameter) -> str:
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if isinstance(param.type, click.types._NumberParamTypeBase):
        return "1"
    if isinstance(param.type, (click.Path, click.File)):
        return "."
    return "x"


def hostile_values(param: click.Parameter, serving: bool) -> list[str]:
    if isinstance(param.type, click.Choice):
        return [NOT_UTF8]
    if isinstance(param.type, click.types._NumberParamTypeBase):
        return HOSTILE_INT
    if serving:
        return []
    if isinstance(param.type, (click.Path, click.File)):
        return HOSTILE_PATH
    return HOSTILE_TEXT


def argv_for(param: click.Parameter, value: str) -> list[str]:
    if isinstance(param, click.Argument):
        return [value]
    return [param.opts[0], value]


def cases() -> Iterator[tuple[str, list[str]]]:
    for path, command in leaf_commands(cli):
        serving = path in SERVING
        values = [p for p in command.params if not getattr(p, "is_flag", False)]
        for target in values:
            if target.name == "help":
                continue
            for value in hostile_values(target, serving):
                argv = list(path)
                for param in values:
                    if param is target:
                        argv += argv_for(param, value)
                    elif param.required:
                        argv += argv_for(param, plain_value(param))
                if path == ("run",) and target.name != "command":
                    argv += ["--", sys.executable, "-c", "pass"]
                if path == ("run",) and target.name == "command":
                    argv.insert(-1, "--")
                yield f"{' '.join(path)} {target.name}={value[:12]!r}", argv


CASES = list(cases())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with one recorded run; the commands run in it."""
    root = tmp_path_factory.mktemp("hostile") / "project"
    (root / ".cmf").mkdir(parents=True)
    (root / "data.csv").write_text("a,b\n")
    with (
        Cmf(pipeline="p", project_root=root, capture_git=False, capture_environment=False) as cmf,
        cmf.execution("train") as run,
    ):
        run.log_dataset(str(root / "data.csv"))
    return root


def assert_one_error_line(code: int, stderr: str, stdout: str) -> None:
    assert "Traceback" not in stderr + stdout
    if code != 0:
        assert code in (1, 2), (code, stderr)
        errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, stderr[-2000:]


def test_every_command_is_attacked() -> None:
    attacked = {case.split(" ", 1)[0] for case, _ in CASES}
    assert {"run", "ls", "show", "lineage", "export", "token", "metadata"} <= attacked
    assert len(CASES) > 200


@pytest.mark.filterwarnings("ignore::cmf_core.errors.CmfWarning")  # warnings are not errors
@pytest.mark.parametrize(("case", "argv"), CASES, ids=[c for c, _ in CASES])
def test_hostile_input_is_one_error_line_never_a_traceback(
    recorded: Path, monkeypatch: pytest.MonkeyPatch, case: str, argv: list[str]
) -> None:
    monkeypatch.chdir(recorded)
    monkeypatch.setenv("HOME", str(recorded / "home"))
    result = CliRunner().invoke(cli, argv, input="")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{case}: {result.exception!r}") from result.exception
    assert_one_error_line(result.exit_code, result.stderr, result.stdout)


# -- real processes ----------------------------------------------------------------------------


def cmf_process(cwd: Path, *args: str | bytes) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd / "home"), "PYTHONIOENCODING": "utf-8"}
    command: list[str | bytes] = [sys.executable, "-m", "cmf_mcp", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("show", b"caf\xe9"),
        ("ls", "executions", "--where", b"stage = 'caf\xe9'"),
        ("lineage", b"\xff\xfe"),
        ("export", "--format", "json", "-o", b"/nonexistent/\xff/x.json", "x"),
        ("token", "create", "--name", b"\xff", "--expires", b"3\xffd"),
        ("run", "--pipeline", "p", "--stage", "s", "-p", DEEP_JSON, "--", sys.executable),
        ("run", "--pipeline", "p", "--stage", "s", "-p", f"x={HUGE_INT}", "--", "true"),
        ("run", "--pipeline", "p", "--stage", "s", "-i", b"caf\xe9.csv", "--", "true"),
        ("import-mlmd", b"/nonexistent/\xff"),
        ("ls", "executions", "--limit", HUGE_INT),
    ],
    ids=lambda args: " ".join(str(a)[:20] for a in args[:3]),
)
def test_hostile_argv_in_a_real_process_is_one_error_line(
    recorded: Path, args: tuple[str | bytes, ...]
) -> None:
    result = cmf_process(recorded, *args)
    assert_one_error_line(result.returncode, result.stderr, result.stdout)


def test_db_upgrade_on_a_store_from_a_newer_cmf_is_one_error_line(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / ".cmf").mkdir(parents=True)
    with Cmf(pipeline="p", project_root=root, capture_git=False, capture_environment=False):
        pass
    database = root / ".cmf" / "metadata.db"
    conn = sqlite3.connect(database)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    before = database.read_bytes()
    for args in (("db", "upgrade"), ("ls", "executions"), ("show", "x")):
        result = cmf_process(root, *args)
        assert result.returncode == 1
        assert_one_error_line(result.returncode, result.stderr, result.stdout)
        assert "newer" in result.stderr
    assert database.read_bytes() == before
