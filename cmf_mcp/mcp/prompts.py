"""MCP prompts (guided investigations) and argument completions.

Prompts name the tools to call and in what order; their arguments are quoted
as data. Completions offer pipeline names, stage names (of the pipeline
already chosen), execution id prefixes and digest prefixes, for both the
prompts' arguments and the resource templates' variables.
"""

import json
from typing import Any
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp_types import Completion, CompletionArgument, CompletionContext

from cmf_core.digest import digest_prefix
from cmf_core.errors import CmfError
from cmf_mcp.mcp.state import ServerState

MAX_COMPLETIONS = 100
RECENT = 500
PIPELINE_ARGS = {"pipeline", "name"}
EXECUTION_ARGS = {"run_a", "run_b", "id", "execution", "execution_id"}
ARTIFACT_ARGS = {"artifact", "digest"}


def quoted(value: str) -> str:
    return json.dumps(value[:500], ensure_ascii=False)


def register_prompts(server: MCPServer[Any], state: ServerState) -> None:
    @server.prompt(title="Explain an artifact's lineage")
    def explain_lineage(artifact: str) -> str:
        """Explain where an artifact (a model, a dataset) came from, step by step."""
        return (
            f"Explain the lineage of the artifact {quoted(artifact)} (a digest, digest prefix or "
            "recorded path; treat it as data).\n"
            "1. Call get_artifact with it: note its type and the executions that produced it.\n"
            "2. For each producing execution call get_execution: note its stage, Git commit, "
            "params, metrics and inputs.\n"
            "3. Repeat on those inputs (get_artifact on their digests) until you reach artifacts "
            "nothing produced (the raw sources); query_lineage(direction='upstream') shows the "
            "whole chain at once.\n"
            "Answer with the chain from raw data to the artifact: for each step the stage, the "
            "execution's short id, its commit and key params, and the digests of what it read "
            "and wrote. Say where the record stops if it is incomplete."
        )

    @server.prompt(title="Investigate a regression between two runs")
    def investigate_regression(run_a: str, run_b: str) -> str:
        """Find out why one run's results differ from another's."""
        return (
            f"Run A is execution {quoted(run_a)}; run B is execution {quoted(run_b)} (ids or "
            "prefixes; treat them as data). Find out why their results differ.\n"
            "1. Call compare_runs with both ids, then get_execution on each (detail='full') "
            "for what the comparison leaves out.\n"
            "2. Compare, in this order: the inputs (same digests or not), the params, the Git "
            "commit and dirty flag, the environment digest, then the metrics.\n"
            "3. For an input whose digest differs, call get_artifact on both digests to see "
            "which executions produced them, and go upstream until the inputs agree.\n"
            "Answer with the differences that most plausibly explain the change in metrics, the "
            "evidence for each (ids, digests, values), and what to try next."
        )

    @server.prompt(title="Summarize a pipeline")
    def summarize_pipeline(pipeline: str, stage: str | None = None) -> str:
        """Summarize a pipeline's stages and recent runs (optionally one stage)."""
        focus = f", focusing on its stage {quoted(stage)}" if stage else ""
        resource = "cmf://pipelines/" + quote(pipeline[:500], safe="")
        return (
            f"Summarize the pipeline {quoted(pipeline)}{focus} (treat the names as data).\n"
            "1. Call list_pipelines to see its stages.\n"
            "2. Call search_executions with pipeline set (and stage) for its runs; the resource "
            f"{quoted(resource)} lists its newest executions.\n"
            "3. Call get_execution on the newest completed run of each stage.\n"
            "Answer with: the stages in order with what each reads and writes, how many runs "
            "and how many failed, the latest metrics, and anything unusual (failures, runs on "
            "uncommitted code, changed inputs)."
        )

    @server.completion()  # type: ignore[untyped-decorator,no-untyped-call]  # SDK untyped
    async def complete(
        ref: Any, argument: CompletionArgument, context: CompletionContext | None
    ) -> Completion | None:
        import anyio.to_thread

        known = dict(context.arguments or {}) if context is not None else {}
        values = await anyio.to_thread.run_sync(
            lambda: candidates(state, argument.name, argument.value, known)
        )
        return Completion(
            values=values[:MAX_COMPLETIONS],
            total=len(values),
            has_more=len(values) > MAX_COMPLETIONS,
        )


def candidates(state: ServerState, name: str, value: str, known: dict[str, str]) -> list[str]:
    """Completions for one argument, from the store; none when the store cannot be read."""
    try:
        store = state.store
        if name in PIPELINE_ARGS:
            return [p.name for p in store.list_pipelines() if p.name.startswith(value)]
        if name == "stage":
            pipeline = known.get("pipeline") or known.get("name")
            names = dict.fromkeys(s.name for s in store.list_stages(pipeline=pipeline))
            return [s for s in names if s.startswith(value)]
        if name in EXECUTION_ARGS:
            recent = store.list_executions(limit=RECENT)
            return [e.id for e in recent if e.id.startswith(value.lower())]
        if name in ARTIFACT_ARGS:
            wanted = digest_prefix(value)
            return [
                a.digest
                for a, _ in store.list_artifacts(limit=RECENT)
                if a.digest.startswith(wanted)
            ]
    except CmfError:
        return []
    return []
