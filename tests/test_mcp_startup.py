"""The MCP server starts lean: importing it, making it and listing its tools load no store."""

import subprocess
import sys
from pathlib import Path

# Loaded on the first tool call, never before: the store, its database drivers, Git, hashing.
HEAVY = ("sqlalchemy", "alembic", "psycopg", "git", "dvc_data", "dvc_objects", "cmf_core.store")

LIST_TOOLS = f"""
import sys
from pathlib import Path

import anyio
from mcp import Client

import cmf_mcp.mcp.server as module

print("import:", *[m for m in {HEAVY!r} if m in sys.modules])
server = module.create_server(
    "sqlite:///" + str(Path.cwd() / "store.db"), project_root=Path.cwd(), capture_git=False
)


async def listed() -> int:
    async with Client(server) as client:
        return len((await client.list_tools()).tools)


count = anyio.run(listed)
print("list:", *[m for m in {HEAVY!r} if m in sys.modules])
print("tools:", count)
"""


def test_importing_the_server_and_listing_its_tools_loads_no_store_git_or_hashing(
    tmp_path: Path,
) -> None:
    (tmp_path / ".cmf").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", LIST_TOOLS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "import:", lines
    assert lines[1] == "list:", lines
    assert int(lines[2].split()[1]) >= 13
    assert not (tmp_path / "store.db").exists(), "listing tools created the store"
