"""Every way into cmf from outside: the CLI, the MCP server, the team server."""
