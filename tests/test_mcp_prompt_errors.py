"""A prompt called without its required argument (or by a wrong name) is invalid params."""

import logging
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp_support import MODES, connect, drive, make_server
from mcp_types import INVALID_PARAMS

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_prompt_argument_is_invalid_params_naming_it(
    bare_project: Path, sqlite_url: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(sqlite_url)
    with caplog.at_level(logging.DEBUG), connect(server, mode) as client:
        with pytest.raises(MCPError) as missing:
            client.run("get_prompt", "investigate_regression", {"run_a": "0193a1b2"})
        with pytest.raises(MCPError) as blank:
            client.run("get_prompt", "explain_lineage", {"artifact": "  "})
        with pytest.raises(MCPError) as unknown:
            client.run("get_prompt", "no_such_prompt", {})
        fine = client.run("get_prompt", "summarize_pipeline", {"pipeline": "fraud"})
    server.close()
    assert missing.value.error.code == INVALID_PARAMS
    assert "investigate_regression needs the argument(s) run_b" in missing.value.error.message
    assert "it takes run_a, run_b" in missing.value.error.message
    assert blank.value.error.code == INVALID_PARAMS and "artifact" in blank.value.error.message
    assert unknown.value.error.code == INVALID_PARAMS
    assert "prompts/list" in unknown.value.error.message
    assert fine.messages
    assert not [r for r in caplog.records if r.exc_info], "no traceback is logged"


def test_over_stdio_the_error_is_clear_and_stderr_holds_no_traceback(
    bare_project: Path, sqlite_url: str, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=str(BIN / "cmf-mcp"),
        args=["--project", str(bare_project), "--store", sqlite_url],
        cwd=str(bare_project),
    )
    log = tmp_path / "stderr.txt"
    with (
        log.open("w") as errlog,
        drive(Client(stdio_client(params, errlog=errlog), read_timeout_seconds=30)) as client,
        pytest.raises(MCPError) as missing,
    ):
        client.run("get_prompt", "summarize_pipeline", {})
    assert missing.value.error.code == INVALID_PARAMS
    assert "summarize_pipeline needs the argument(s) pipeline" in missing.value.error.message
    assert "stage (optional)" in missing.value.error.message
    assert "Traceback" not in log.read_text()
