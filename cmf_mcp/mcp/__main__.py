"""``python -m cmf_mcp.mcp``: the ``cmf-mcp`` command."""

from cmf_mcp.cli.serve import main

main()
