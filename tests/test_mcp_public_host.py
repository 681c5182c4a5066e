"""`cmf mcp --transport http` serves this machine only unless told --public."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cmf_mcp.cli.main import cli
from cmf_mcp.cli.serve import is_loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.com"])
def test_a_host_other_than_loopback_is_refused_naming_the_reason_and_the_flag(
    bare_project: Path, host: str
) -> None:
    result = CliRunner().invoke(cli, ["mcp", "--transport", "http", "--host", host])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert f"--host {host} would serve MCP to the network over plain HTTP" in error
    assert "--public" in error


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("my-laptop.local", False),
    ],
)
def test_loopback_is_this_machine_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_public_serves_on_every_address(bare_project: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "cmf_mcp.mcp", "--transport", "http", "--host", "0.0.0.0"]
    with subprocess.Popen(
        [*command, "--public", "--port", str(port)], stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            assert f"cmf MCP server on http://0.0.0.0:{port}/mcp" in line
        finally:
            process.terminate()
            process.wait(timeout=30)
