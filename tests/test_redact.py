"""Secrets are redacted before anything is stored: planted through every door, found nowhere.

Each kind of secret (a secret-named flag's value, ``KEY=value``, URL userinfo, the
well-known token shapes) goes in through the Python API, ``cmf run``, MCP's
start_execution/end_execution and an mlmd import; then every table of the SQLite
file is dumped as text, and the tool answers, ``cmf show``, ``cmf reproduce``, the
OpenLineage and PROV exports are searched for it.
"""

import json
import shlex
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from mcp_support import connect, make_server, text

from cmf_core.cmflib.importer import import_mlmd
from cmf_core.config import default_store_url
from cmf_core.errors import ConfigError
from cmf_core.redact import Redactor, split_command
from cmf_core.store import Store
from cmf_core.tracking import Cmf
from cmf_mcp.cli.main import cli

FIXTURE = Path(__file__).parent / "fixtures" / "cmflib"

AWS = "AKIAQWERTYUIOPASDFGH"
GITHUB = "ghp_" + "Zx9" * 12
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" * 4
HUGGING_FACE = "hf_" + "QwErTy1234" * 3 + "abcd"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjbWYtdGVzdCJ9.c2lnbmF0dXJlLXZhbHVlLTk4"
CMF_TOKEN = "cmf_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"
SLACK = "xoxb-2048-4096-SlAcKsEcReT99"

# Each kind of secret, as it is written on a command line, and the secret part of it.
COMMAND_SECRETS = {
    "--password=": ("--password=flagEq-7f3a91", "flagEq-7f3a91"),
    "--token VALUE": ("--token flagSp-2b8c44", "flagSp-2b8c44"),
    "--api-key VALUE": ("--api-key apiKey-5d1e09", "apiKey-5d1e09"),
    "--secret VALUE": ("--secret secret-9e2f71", "secret-9e2f71"),
    "quoted --hf-token=": ("'--hf-token=two words-4c1d'", "words-4c1d"),
    "KEY=value": ("DB_PASSWORD=envPw-3c7a12", "envPw-3c7a12"),
    "URL userinfo": ("https://alice:urlPw-8a4b22@example.com/data", "urlPw-8a4b22"),
    "AWS key id": (AWS, AWS),
    "GitHub token": (GITHUB, GITHUB),
    "GitHub PAT": (GITHUB_PAT, GITHUB_PAT),
    "Hugging Face": (HUGGING_FACE, HUGGING_FACE),
    "JWT": (JWT, JWT),
    "cmf token": (CMF_TOKEN, CMF_TOKEN),
    "Slack": (SLACK, SLACK),
}
PARAM_SECRET = "paramPw-6b0e33"
ERROR_SECRETS = ("errPw-1f9d27", HUGGING_FACE, "errUrl-0a7c5e")
ALL_SECRETS = [s for _, s in COMMAND_SECRETS.values()] + [PARAM_SECRET, *ERROR_SECRETS]


def planted_command() -> str:
    return "python train.py " + " ".join(arg for arg, _ in COMMAND_SECRETS.values())


def planted_error() -> str:
    return (
        f"ConnectionError: login as bob password='{ERROR_SECRETS[0]}' with {ERROR_SECRETS[1]} "
        f"to postgresql://bob:{ERROR_SECRETS[2]}@db.internal/runs failed"
    )


def planted_params() -> dict[str, object]:
    return {"lr": 0.01, "db_password": PARAM_SECRET, "nested": {"hf_token": PARAM_SECRET}}


def dump_sqlite(path: Path) -> str:
    """Every value of every table of the SQLite file, as text."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [repr(row) for name in names for row in conn.execute(f'SELECT * FROM "{name}"')]
    finally:
        conn.close()
    assert rows, "the store is empty: nothing was recorded"
    return "\n".join(rows)


def leaked(text: str, secrets: list[str] | tuple[str, ...] = tuple(ALL_SECRETS)) -> list[str]:
    return [secret for secret in secrets if secret in text]


def cli_out(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def surfaces_text(execution_id: str, tmp_path: Path) -> str:
    """What `cmf show`, `cmf reproduce` (recipe, JSON, script), `cmf ls` and the exports say."""
    out = [
        cli_out("show", execution_id),
        cli_out("show", execution_id, "--json"),
        cli_out("reproduce", execution_id),
        cli_out("reproduce", execution_id, "--json"),
        cli_out("reproduce", execution_id, "--script"),
        cli_out("ls", "executions", "--json"),
    ]
    for format in ("openlineage", "prov"):
        target = tmp_path / f"export.{format}"
        cli_out("export", "--format", format, "-o", str(target))
        out.append(target.read_text())
    return "\n".join(out)


# -- the redactor itself -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(COMMAND_SECRETS))
def test_each_kind_of_secret_on_a_command_line_is_replaced(kind: str) -> None:
    given, secret = COMMAND_SECRETS[kind]
    command = f"python train.py --lr 0.1 {given} data/train.csv"
    redacted = Redactor().command(command)
    assert redacted is not None and secret not in redacted
    assert "***" in redacted and "--lr 0.1" in redacted and redacted.endswith("data/train.csv")
    assert shlex.split(redacted)[:4] == ["python", "train.py", "--lr", "0.1"]


@pytest.mark.parametrize(
    "command",
    [
        "python train.py --tokenizer bert --max-tokens 512 --pad_token '<pad>' --token-file t.txt",
        "python train.py --no-token --epochs 3",
        "git push https://example.com/team/repo.git main",
        "python eval.py --key-column id --task-name classification-long-name-here",
    ],
)
def test_commands_without_secrets_are_stored_exactly_as_given(command: str) -> None:
    assert Redactor().command(command) == command


def test_texts_and_mappings_are_redacted_and_redaction_is_idempotent() -> None:
    redactor = Redactor()
    error = redactor.text(planted_error())
    assert error is not None and not leaked(error)
    assert error.startswith("ConnectionError: login as bob password='***'")
    assert redactor.text(error) == error
    params = redactor.mapping(planted_params())
    assert params == {"lr": 0.01, "db_password": "***", "nested": {"hf_token": "***"}}
    assert redactor.mapping({"use_token": True, "pad_token": "<pad>"}) == {
        "use_token": True,
        "pad_token": "<pad>",
    }
    command = redactor.command(planted_command())
    assert redactor.command(command) == command


@given(st.text(alphabet=st.sampled_from(list("ab -='\"\\\n\té")), max_size=30))
def test_command_lines_split_into_the_words_the_shell_sees(line: str) -> None:
    try:
        expected: list[str] | None = shlex.split(line)
    except ValueError:
        expected = None
    assert split_command(line) == expected


def test_extra_patterns_add_to_the_built_in_ones_and_a_group_redacts_only_itself() -> None:
    redactor = Redactor(patterns=[r"corp-[0-9]{6}", r"pin=([0-9]+)"])
    assert redactor.text("id corp-123456 pin=9999 --token x") == "id *** pin=*** --token ***"
    with pytest.raises(ConfigError, match="not a regular expression"):
        Redactor(patterns=["(unclosed"])


# -- every door, every table, every surface ----------------------------------------------------


def test_secrets_given_to_the_python_api_are_in_no_table_and_no_surface(
    bare_project: Path, tmp_path: Path
) -> None:
    with Cmf(pipeline="p", capture_git=False, capture_environment=False) as cmf:
        run = cmf.start_execution("train", params=planted_params(), command=planted_command())
        with pytest.raises(ConnectionError), run:
            run.log_params({"api_key": PARAM_SECRET})
            raise ConnectionError(planted_error().removeprefix("ConnectionError: "))
        execution_id = run.id
    database = bare_project / ".cmf" / "metadata.db"
    assert leaked(dump_sqlite(database)) == []
    assert "--password=***" in dump_sqlite(database)
    assert leaked(surfaces_text(execution_id, tmp_path)) == []


def test_secrets_on_a_cmf_run_command_line_are_in_no_table(project: Path) -> None:
    argv = [sys.executable, "-c", "raise SystemExit(3)"]
    for written, _ in COMMAND_SECRETS.values():
        argv += shlex.split(written)
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--pipeline",
            "p",
            "--stage",
            "s",
            "-p",
            f"db_password={PARAM_SECRET}",
            "--",
            *argv,
        ],
    )
    assert result.exit_code == 3, result.output
    dumped = dump_sqlite(project / ".cmf" / "metadata.db")
    assert leaked(dumped) == []
    assert "command exited with status 3" in dumped


@pytest.mark.anyio
def test_secrets_sent_to_mcp_tools_are_in_no_table_and_no_tool_answer(
    bare_project: Path, tmp_path: Path
) -> None:
    server = make_server(default_store_url(bare_project))
    with connect(server) as client:
        started = client.ok(
            "start_execution",
            {
                "pipeline": "p",
                "stage": "train",
                "command": planted_command(),
                "params": planted_params(),
                "properties": {"note": f"pushed with {GITHUB}"},
            },
        )
        execution_id = started["execution_id"]
        answers = [json.dumps(started)]
        ended = client.call(
            "end_execution",
            {"execution_id": execution_id, "status": "failed", "error": planted_error()},
        )
        answers.append(text(ended) + json.dumps(ended.structured_content))
        for tool, arguments in [
            ("get_execution", {"execution_id": execution_id}),
            ("reproduce", {"execution_id": execution_id}),
            ("search_executions", {}),
        ]:
            result = client.call(tool, arguments)
            assert not result.is_error, text(result)
            answers.append(text(result) + json.dumps(result.structured_content))
    assert leaked("\n".join(answers)) == []
    assert leaked(dump_sqlite(bare_project / ".cmf" / "metadata.db")) == []
    assert leaked(surfaces_text(execution_id, tmp_path)) == []


def test_an_imported_cmflib_command_is_redacted(tmp_path: Path, sqlite_url: str) -> None:
    root = tmp_path / "cmflib-project"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "*.md"))
    mlmd = root / "mlmd"
    conn = sqlite3.connect(mlmd)
    with conn:
        conn.execute(
            "UPDATE ExecutionProperty SET string_value = ? WHERE name = 'Execution'",
            (f"python src/prepare.py --token {HUGGING_FACE} data/raw.csv",),
        )
    conn.close()
    with Store(sqlite_url) as store:
        import_mlmd(store, mlmd, progress=False)
        import_mlmd(store, mlmd, progress=False)  # the same file again changes nothing
        commands = {e.command for e in store.list_executions()}
    assert leaked(dump_sqlite(Path(sqlite_url.removeprefix("sqlite:///"))), [HUGGING_FACE]) == []
    assert commands == {"python src/prepare.py --token '***' data/raw.csv"}


# -- configuration -----------------------------------------------------------------------------


def test_config_adds_patterns_and_only_an_explicit_choice_turns_redaction_off(
    bare_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = bare_project / ".cmf" / "config.toml"
    config.write_text('[redact]\npatterns = ["corp-[0-9]{6}"]\n')
    with Cmf(pipeline="p", capture_git=False, capture_environment=False) as cmf:
        with cmf.execution("a", command="deploy corp-424242 --token abc"):
            pass
        config.write_text("[redact]\nenabled = false\n")
    with Cmf(pipeline="p", capture_git=False, capture_environment=False) as cmf:
        with cmf.execution("b", command="deploy corp-424242 --token abc"):
            pass
        by_stage = {e.stage: e.command for e in cmf.store.list_executions()}
    assert by_stage == {"a": "deploy *** --token '***'", "b": "deploy corp-424242 --token abc"}
    monkeypatch.setenv("CMF_REDACT", "true")  # the environment wins over the file
    with Cmf(pipeline="p", capture_git=False, capture_environment=False) as cmf:
        with cmf.execution("c", command="deploy --token abc"):
            pass
        assert cmf.store.list_executions(stage="c")[0].command == "deploy --token '***'"


@pytest.mark.parametrize(
    "table",
    ["[redact]\nenabled = 'no'\n", "[redact]\npatterns = 'x'\n", "[redact]\nmode = 1\n"],
)
def test_a_malformed_redact_table_is_refused_with_what_it_takes(
    bare_project: Path, table: str
) -> None:
    (bare_project / ".cmf" / "config.toml").write_text(table)
    with pytest.raises(ConfigError, match=r"\[redact\] in .* takes `enabled = true\|false`"):
        Cmf(pipeline="p", capture_git=False, capture_environment=False)
