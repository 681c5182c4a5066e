"""``python -m cmf_mcp``: the ``cmf`` command, for a virtual env where another ``cmf`` exists."""

from cmf_mcp.cli.main import main

main()
