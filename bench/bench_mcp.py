"""The MCP server as a client sees it: cold start, query latency, and the size of every answer.

What it measures (each figure from the client's side, over stdio, through the SDK's own
client — the way Claude Code or Claude Desktop talk to a server):

1. **Cold start**: from spawning the server process to the answer of ``tools/list``
   (handshake included), median of ``--repeats`` runs in each protocol era (``auto``:
   2026-07-28 discovery; ``legacy``: the initialize handshake), after one untimed run
   that warms the file caches. Baseline in the same run, measured the same way: an
   empty ``MCPServer`` (``MCPServer("empty").run()``), which pays the SDK's own import
   time. **Target: cmf-mcp within 0.3 s of the baseline.** (``python -m cmf_mcp.mcp``
   is what the ``cmf-mcp`` script runs.)
2. **Query latency** on the synthetic store of ``--executions`` executions
   (``bench/synthetic.py``; reused if already generated): ``query_lineage`` upstream at
   depth 10 of the anchor model (limit 200, the tool's maximum, and the default 60) and of
   the last model of the longest fine-tuning chain (``deep_artifact``, every hop filled),
   and ``compare_runs`` of the anchor pair, p50 and p90 of ``--calls`` calls after 3
   warm-up ones. **Target: p50 ≤ 30 ms each.**
3. **Answer sizes**: every read tool called with its defaults on that store; the size
   of what the model receives (text plus structured content as JSON) in characters
   and in tokens at 4 characters a token. **Target: every one ≤ 8,000 tokens**; the
   largest is reported.
4. **tools/list size**: the JSON of the ``tools/list`` result (names, titles,
   descriptions, input and output schemas, annotations) a ``cmf-mcp`` process sends
   over stdio, as the SDK writes it; also with JSON's roomier separators, and the five
   largest tools. **Target: ≤ 24,000 characters in all.** Not a timing: the same in
   every run.

Prints one JSON object on stdout. ``--quick`` uses a 2,000-execution store in a
temporary folder and fewer repeats (a smoke run of the script).

    .venv/bin/python bench/bench_mcp.py [--quick] [--repeats N] [--calls N]
        [--executions N]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import ensure  # bench/ is not a package

TARGET_COLD_START_OVER_BASELINE_MS = 300.0
TARGET_QUERY_P50_MS = 30.0
TARGET_TOKENS = 8_000
TARGET_TOOLS_LIST_CHARS = 24_000
EMPTY_SERVER = "from mcp.server import MCPServer; MCPServer('empty').run()"


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}


def cmf_server(project: Path, store_url: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "cmf_mcp.mcp", "--project", str(project), "--store", store_url],
        cwd=str(project),
        env=clean_environment(),
    )


def empty_server(project: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-c", EMPTY_SERVER], cwd=str(project), env=clean_environment()
    )


async def time_to_tools(params: StdioServerParameters, mode: str) -> float:
    started = time.perf_counter()
    async with Client(params, mode=mode) as client:
        await client.list_tools()
        elapsed = time.perf_counter() - started
    return elapsed * 1000


def cold_start(project: Path, store_url: str, repeats: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for mode in ("auto", "legacy"):
        runs: dict[str, list[float]] = {"baseline_empty_mcpserver": [], "cmf_mcp": []}
        for params in (empty_server(project), cmf_server(project, store_url)):
            anyio.run(time_to_tools, params, mode)  # warm the caches
        for _ in range(repeats):  # interleaved, so drift hits both alike
            for name, params in (
                ("baseline_empty_mcpserver", empty_server(project)),
                ("cmf_mcp", cmf_server(project, store_url)),
            ):
                runs[name].append(anyio.run(time_to_tools, params, mode))
        base = statistics.median(runs["baseline_empty_mcpserver"])
        ours = statistics.median(runs["cmf_mcp"])
        figures[mode] = {
            "baseline_median_ms": round(base, 1),
            "cmf_mcp_median_ms": round(ours, 1),
            "over_baseline_ms": round(ours - base, 1),
            "target_over_baseline_ms": TARGET_COLD_START_OVER_BASELINE_MS,
            "met": ours - base <= TARGET_COLD_START_OVER_BASELINE_MS,
        }
    return figures


async def tools_list_size(params: StdioServerParameters) -> dict[str, Any]:
    async with Client(params) as client:
        listed = await client.list_tools()
    wire = listed.model_dump_json(by_alias=True, exclude_none=True)
    tools = listed.model_dump(mode="json", by_alias=True, exclude_none=True)["tools"]
    sizes = sorted(
        ((len(json.dumps(t, ensure_ascii=False, separators=(",", ":"))), t) for t in tools),
        key=lambda pair: pair[0],
        reverse=True,
    )
    return {
        "tools": len(tools),
        "chars": len(wire),
        "chars_with_spaces": len(json.dumps(json.loads(wire))),
        "largest": [
            {
                "tool": tool["name"],
                "chars": chars,
                "description": len(tool.get("description", "")),
                "input_schema": len(json.dumps(tool["inputSchema"], separators=(",", ":"))),
            }
            for chars, tool in sizes[:5]
        ],
        "target_chars": TARGET_TOOLS_LIST_CHARS,
        "met": len(wire) <= TARGET_TOOLS_LIST_CHARS,
    }


def size_of(result: Any) -> dict[str, Any]:
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    chars = len(text) + len(json.dumps(result.structured_content or {}))
    return {"chars": chars, "tokens": round(chars / 4), "is_error": result.is_error}


async def queries(project: Path, synthetic: Any, calls: int) -> dict[str, Any]:
    a, b = synthetic.pair
    lineage = {"node": synthetic.model_digest, "direction": "upstream", "depth": 10}
    timed = {
        "query_lineage_depth10_limit200": ("query_lineage", {**lineage, "limit": 200}),
        "query_lineage_depth10_default_limit": ("query_lineage", lineage),
        "query_lineage_deep_chain_depth10_limit200": (
            "query_lineage",
            {"node": synthetic.deep_artifact, "depth": 10, "limit": 200},
        ),
        "compare_runs_pair": ("compare_runs", {"ids": [a, b]}),
    }
    latency: dict[str, Any] = {}
    sizes: dict[str, Any] = {}
    async with Client(cmf_server(project, synthetic.url), read_timeout_seconds=120) as client:
        for label, (tool, arguments) in timed.items():
            samples = []
            for number in range(calls + 3):
                started = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                elapsed = (time.perf_counter() - started) * 1000
                assert not result.is_error, result.content
                if number >= 3:
                    samples.append(elapsed)
            samples.sort()
            latency[label] = {
                "p50_ms": round(statistics.median(samples), 2),
                "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 2),
                "nodes": len(result.structured_content.get("nodes", []))
                if tool == "query_lineage"
                else None,
                "target_p50_ms": TARGET_QUERY_P50_MS,
                "met": statistics.median(samples) <= TARGET_QUERY_P50_MS,
            }
        series_run = await find_series(client)
        defaults = {
            "list_pipelines": {},
            "search_executions": {},
            "search_artifacts": {},
            "get_execution": {"execution_id": a},
            "get_artifact": {"reference": synthetic.model_digest},
            "query_lineage": {"node": synthetic.model_digest},
            "compare_runs": {"ids": [a, b]},
            "metric_history": {"execution_id": series_run, "name": "loss"},
            "reproduce": {"execution_id": a},
            "get_artifact_of_a_raw_dataset_read_by_many": {"reference": await raw_input(client)},
        }
        for label, arguments in defaults.items():
            tool = label.split("_of_")[0]
            sizes[label] = size_of(await client.call_tool(tool, arguments))
    largest = max(sizes, key=lambda k: sizes[k]["tokens"])
    return {
        "latency": latency,
        "answer_sizes": sizes,
        "largest": {"tool": largest, **sizes[largest], "target_tokens": TARGET_TOKENS},
        "met_sizes": all(s["tokens"] <= TARGET_TOKENS for s in sizes.values()),
    }


async def find_series(client: Client) -> str:
    """A train execution that logged a loss series (2 % of them do)."""
    cursor = None
    for _ in range(20):
        page = await client.call_tool(
            "search_executions",
            {"where": 'stage = "train" and status = "completed"', "limit": 100, "cursor": cursor},
        )
        for item in page.structured_content["items"]:
            run = await client.call_tool("get_execution", {"execution_id": item["id"]})
            if "loss" in run.structured_content["step_metrics"]:
                return str(item["id"])
        cursor = page.structured_content["next_cursor"]
    raise RuntimeError("no execution with a loss series in the first 2,000 train runs")


async def raw_input(client: Client) -> str:
    """The digest of a raw dataset (one many executions read)."""
    page = await client.call_tool("search_artifacts", {"type": "dataset", "sort": "created_at"})
    return str(page.structured_content["items"][0]["digest"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--executions", type=int, default=100_000)
    args = parser.parse_args()
    repeats, calls = (2, 5) if args.quick else (args.repeats, args.calls)
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "project"
        (project / ".cmf").mkdir(parents=True)
        if args.quick:
            synthetic = ensure(f"sqlite:///{scratch}/synthetic.db", executions=2_000, pipelines=3)
        else:
            synthetic = ensure(executions=args.executions)
        empty_store = f"sqlite:///{scratch}/empty.db"
        report = {
            "load_average_at_start": os.getloadavg()[0],
            "python": sys.version.split()[0],
            "store": {"url_kind": synthetic.url.split(":")[0], "executions": synthetic.executions},
            "cold_start_to_tools_list": cold_start(project, empty_store, repeats),
            "tools_list_size": anyio.run(tools_list_size, cmf_server(project, empty_store)),
            **anyio.run(queries, project, synthetic, calls),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
