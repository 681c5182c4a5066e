"""How long lineage walks take on a large store: upstream lineage, trace, impact.

What it measures, on the synthetic store of ``bench/synthetic.py`` (1,000,000
executions by default; generated once into ``bench/data/`` and reused):

1. **Upstream lineage, 10 hops** — ``lineage(store, deep_artifact, depth=10)``
   (default limit 500, mixed view) from the store's anchor ``deep_artifact``, the
   last model of the longest fine-tuning chain, whose upstream has nodes at every
   depth. Everything is included: resolving the digest, the per-hop queries, the
   look past the last hop, building the record. **Target: median ≤ 20 ms** (SQLite).
2. **Upstream lineage, 100 hops** — the same with ``depth=100``.
   **Target: median ≤ 50 ms** (SQLite). For reference, the issue quotes ML Metadata's
   ``get_lineage_subgraph`` at ~144 ms for 100 hops on a 2,000-execution store
   (not installed here, so not measured).
3. **Trace of a model, depth 10** — ``trace(store, model_digest, depth=10)``, the
   anchor model of a normal pipeline. **Target: median ≤ 30 ms** (SQLite).
4. Reported, no target: lineage of ``model_digest`` both ways at depth 10, the
   artifacts view at depth 100, and ``impact`` (downstream, limit 1000) at depth 10
   and 100 of a raw source of ``model_digest`` (the first of its trace's sources by
   digest): raw datasets are shared across pipelines, so this is a wide walk that
   usually ends at the node limit.
5. **Baseline**, same process: the 10-hop upstream walk done node by node through
   ``store.get_artifact_detail`` / ``store.get_execution_detail`` (what a client
   that calls ``cmf show`` per node would do), to show what batching per hop buys.
6. The same on **PostgreSQL** when ``CMF_TEST_POSTGRES_URL`` names a server: the
   synthetic store is generated into a database ``cmf_synthetic_n<N>_s0_p20`` on it
   (shared with ``bench_compare.py``, kept and reused; ``--drop-postgres`` drops it).

Each figure is the median, p90 and min of ``--repeats`` calls after 3 warm-up calls,
on a store opened once, with the size of the answer (nodes, edges, hops reached, and
why it was cut). Prints one JSON object; ``--quick`` uses a 20,000-execution store in
a temporary folder (deleted at exit) and fewer repeats.

    .venv/bin/python bench/bench_lineage.py [--quick] [--executions N] [--repeats N]
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synthetic

TARGETS_MS = {"upstream_10": 20.0, "upstream_100": 50.0, "trace_10": 30.0}


def timed(call: Callable[[], Any], repeats: int) -> dict[str, Any]:
    for _ in range(3):
        result = call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[max(int(len(times) * 0.9) - 1, 0)], 3),
        "min_ms": round(times[0], 3),
        **size(result),
    }


def size(result: Any) -> dict[str, Any]:
    """What a result holds, so figures from different stores can be compared."""
    if hasattr(result, "nodes"):
        return {
            "nodes": len(result.nodes),
            "edges": len(result.edges),
            "depth_reached": result.depth_reached,
            "truncated_reason": result.truncated_reason,
        }
    if hasattr(result, "producers"):
        return {
            "executions": len(result.executions),
            "artifacts": len(result.artifacts),
            "sources": len(result.sources),
            "depth_reached": result.depth_reached,
            "truncated_reason": result.truncated_reason,
        }
    if hasattr(result, "groups"):
        return {
            "executions": result.execution_count,
            "artifacts": len(result.artifacts),
            "groups": len(result.groups),
            "end_models": len(result.end_models),
            "truncated_reason": result.truncated_reason,
        }
    return {"nodes": result}


def node_by_node(store: Any, digest: str, depth: int) -> int:
    """The baseline: an upstream walk with one `cmf show`-like read per node."""
    seen, frontier = {digest}, [("artifact", digest)]
    for _ in range(depth):
        reached = []
        for kind, key in frontier:
            if kind == "artifact":
                detail = store.get_artifact_detail(key)
                found = [
                    ("execution", e.execution_id) for e in detail.events if e.direction == "output"
                ]
            else:
                found = [
                    ("artifact", e.artifact.digest) for e in store.get_execution_detail(key).inputs
                ]
            reached.extend(item for item in found if item[1] not in seen)
            seen.update(item[1] for item in found)
        frontier = reached
    return len(seen)


def measure(url: str, made: synthetic.SyntheticStore, repeats: int) -> dict[str, Any]:
    from cmf_core.graph.lineage import lineage
    from cmf_core.graph.trace import impact, trace
    from cmf_core.store import Store

    deep, model = made.deep_artifact, made.model_digest
    with Store(url) as store:
        raw = sorted(trace(store, model, depth=10).sources)[0]
        figures: dict[str, Any] = {
            "upstream_10": timed(lambda: lineage(store, deep, depth=10), repeats),
            "upstream_100": timed(lambda: lineage(store, deep, depth=100), repeats),
            "trace_10": timed(lambda: trace(store, model, depth=10), repeats),
            "both_10_model": timed(lambda: lineage(store, model, direction="both"), repeats),
            "upstream_100_artifacts_view": timed(
                lambda: lineage(store, deep, depth=100, view="artifacts"), repeats
            ),
            "impact_raw_10": timed(lambda: impact(store, raw, depth=10), repeats),
            "impact_raw_100": timed(lambda: impact(store, raw, depth=100), repeats),
            "baseline_node_by_node_10": timed(lambda: node_by_node(store, deep, 10), repeats),
        }
    figures["baseline_over_upstream_10"] = round(
        figures["baseline_node_by_node_10"]["median_ms"] / figures["upstream_10"]["median_ms"], 2
    )
    figures["met"] = {
        name: figures[name]["median_ms"] <= target for name, target in TARGETS_MS.items()
    }
    figures["anchors"] = {"deep_artifact": deep, "model_digest": model, "raw_source": raw}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--executions", type=int, help="size of the synthetic store")
    parser.add_argument("--repeats", type=int, help="timed calls per figure")
    parser.add_argument("--drop-postgres", action="store_true", help="drop the PostgreSQL copy")
    args = parser.parse_args()
    executions = args.executions or (20_000 if args.quick else 1_000_000)
    repeats = args.repeats or (10 if args.quick else 100)
    report: dict[str, Any] = {
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "executions": executions,
        "repeats": repeats,
        "targets_ms": TARGETS_MS,
    }
    report.update(
        synthetic.each_backend(
            executions,
            lambda url, made: measure(url, made, repeats),
            quick=args.quick,
            drop=args.drop_postgres,
        )
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
