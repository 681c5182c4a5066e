"""The team server under load: the lineage endpoint and MCP's query_lineage over HTTP.

Measured as a team meets it — a real ``cmf server`` process (uvicorn, ``--workers``)
on 127.0.0.1 over the synthetic store of ``bench/synthetic.py`` (100,000 executions
by default, SQLite, generated once into ``bench/data/`` and reused; ``--postgres``
serves the same store on PostgreSQL), and the load from a second process:

1. **Lineage, 10 hops** — ``GET /api/v1/lineage/<deep_artifact>?depth=10`` with a
   read token, from ``--concurrency`` client connections for ``--seconds``:
   requests/s, p50, p99. **Targets: ≥ 300 requests/s on 2 cores, p99 ≤ 100 ms.**
2. **Baseline, same run**: ``GET /healthz`` under the same load (what the HTTP stack
   alone allows on this machine), and the lineage call in-process (what the walk
   itself costs), so the endpoint's figure reads against both.
3. **MCP ``query_lineage``** over streamable HTTP at ``/mcp`` (one client, calls in
   sequence): p50. **Target: p50 ≤ 20 ms.**

Both processes share the machine's cores, as a client and server on one host do.
Prints one JSON object; ``--quick`` uses a 5,000-execution store in a temporary
folder and shorter runs.

    .venv/bin/python bench/bench_server.py [--quick] [--workers N] [--postgres]
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import machine  # noqa: E402

from bench import synthetic  # noqa: E402

CMF = str(Path(sys.executable).parent / "cmf")
TARGETS = {"lineage_rps": 300, "lineage_p99_ms": 100, "mcp_query_lineage_p50_ms": 20}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


async def _load(url: str, token: str, seconds: float, concurrency: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    failures = 0
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as http:
        for _ in range(concurrency):  # warm every connection
            await http.get(url)
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await http.get(url)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += response.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {
        "generator": "httpx",
        "requests": len(latencies),
        "failures": failures,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
    }


def load(url: str, token: str, seconds: float, concurrency: int) -> dict[str, Any]:
    """Run the load from a second process: ``wrk`` when it is installed (a C load
    generator, so the client takes little of the shared cores), else this script with
    ``--load`` (httpx, asyncio)."""
    if shutil.which("wrk"):
        return wrk(url, token, seconds, concurrency)
    done = subprocess.run(
        [sys.executable, __file__, "--load", url, token, str(seconds), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def wrk(url: str, token: str, seconds: float, concurrency: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(concurrency),
            "-d",
            f"{round(seconds)}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout

    def ms(text: str) -> float:
        value = float(re.sub(r"[a-z]+$", "", text))
        unit = re.sub(r"^[0-9.]+", "", text)
        return round(value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 2)

    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "generator": "wrk",
        "requests": requests,
        "failures": int(bad.group(1)) if bad else 0,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": ms(latency["50"]),
        "p99_ms": ms(latency["99"]),
        "concurrency": concurrency,
        "seconds": seconds,
    }


async def _mcp_calls(url: str, token: str, node: str, calls: int) -> dict[str, Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"}
    times = []
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, read_timeout_seconds=30) as client:
            arguments = {"node": node, "direction": "upstream", "depth": 10}
            for index in range(calls + 5):
                started = time.perf_counter()
                result = await client.call_tool("query_lineage", arguments)
                if index >= 5:
                    times.append((time.perf_counter() - started) * 1000)
                if result.is_error:
                    raise RuntimeError(str(result.content)[:500])
    return {
        "calls": calls,
        "p50_ms": round(statistics.median(times), 2),
        "p90_ms": round(percentile(times, 0.9), 2),
    }


def in_process_ms(url: str, node: str, repeats: int) -> dict[str, Any]:
    from cmf_core.graph.lineage import lineage
    from cmf_core.store import Store

    with Store(url, read_only=True) as store:
        for _ in range(3):
            lineage(store, node, depth=10)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            graph = lineage(store, node, depth=10)
            times.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(times), 2),
        "nodes": len(graph.nodes),
        "edges": len(graph.edges),
    }


def token_for(url: str) -> str:
    from cmf_core.auth import create_token
    from cmf_core.store import Store

    with Store(url) as store:
        return create_token(store, f"bench-{os.getpid()}-{time.time_ns()}", "read")[1]


def serve(
    url: str, project: Path, workers: int, threads: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}
    server = subprocess.Popen(
        [
            CMF,
            "--store",
            url,
            "server",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server never became ready")


def measure(
    url: str, made: synthetic.SyntheticStore, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    token = token_for(url)
    node = made.deep_artifact
    project = work / "project"
    (project / ".cmf").mkdir(parents=True, exist_ok=True)
    server, base = serve(url, project, args.workers, args.threads)
    try:
        lineage_url = f"{base}/api/v1/lineage/{node}?depth=10"
        health = load(f"{base}/healthz", token, args.seconds, args.concurrency)
        walked = load(lineage_url, token, args.seconds, args.concurrency)
        mcp = asyncio.run(_mcp_calls(f"{base}/mcp", token, node, args.mcp_calls))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "workers": args.workers,
        "threads": args.threads,
        "lineage_10_hops": walked,
        "baseline_healthz": health,
        "baseline_in_process_lineage": in_process_ms(url, node, 50),
        "lineage_rps_vs_healthz": round(walked["requests_per_s"] / health["requests_per_s"], 3),
        "mcp_query_lineage": mcp,
        "met": {
            "lineage_rps": walked["requests_per_s"] >= TARGETS["lineage_rps"],
            "lineage_p99_ms": walked["p99_ms"] <= TARGETS["lineage_p99_ms"],
            "mcp_query_lineage_p50_ms": mcp["p50_ms"] <= TARGETS["mcp_query_lineage_p50_ms"],
        },
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        url, token, seconds, concurrency = sys.argv[2:6]
        print(json.dumps(asyncio.run(_load(url, token, float(seconds), int(concurrency)))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="cmf server --threads")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--mcp-calls", type=int, default=100)
    parser.add_argument("--postgres", action="store_true", help="serve from PostgreSQL too")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.executions, args.seconds, args.mcp_calls = 5000, 3, 30
    report: dict[str, Any] = {
        "benchmark": "server",
        "machine": machine(),
        "executions": args.executions,
        "targets": TARGETS,
    }
    with tempfile.TemporaryDirectory(prefix="cmf-bench-server-") as scratch:
        work = Path(scratch)
        url = f"sqlite:///{work / 'quick.db'}" if args.quick else None
        made = synthetic.ensure(url, executions=args.executions)
        report["sqlite"] = measure(made.url, made, args, work)
        base = os.environ.get("CMF_TEST_POSTGRES_URL")
        if args.postgres and base:
            pg = synthetic.postgres_url(base, args.executions)
            made_pg = synthetic.ensure(pg, executions=args.executions)
            report["postgresql"] = measure(pg, made_pg, args, work)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
