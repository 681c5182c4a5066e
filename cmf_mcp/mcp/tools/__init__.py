"""The MCP tools: ``record`` (start_execution, log_artifact, …) and ``read`` (the rest)."""
