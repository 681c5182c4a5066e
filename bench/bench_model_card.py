"""How long a model card takes on a large store: ``model_card(store, digest)``.

What it measures, on the synthetic store of ``bench/synthetic.py`` (1,000,000
executions by default; generated once into ``bench/data/`` and reused, the same file
``bench_lineage.py`` uses):

1. **A model of a normal pipeline** — ``model_card(store, model_digest)``, the store's
   anchor model (train output of ``synth-00``): resolving the digest, the upstream walk to
   raw sources, the producer's full record, final metrics, environment document, labels,
   and the consumers with their count. **Target: p50 ≤ 30 ms** (SQLite).
2. Reported, no target: the card of ``deep_artifact`` (the last model of the longest
   fine-tuning chain, whose sources lie ~800 hops up, so the walk stops at its depth and
   node limits and says ``sources_complete: false``), and the card of a raw dataset read
   by many runs (the first source of the model's trace), which shows what counting
   consumers costs (read up to 1,000 without a sort, then "at least").
3. **Baseline**, same process: the same answer put together the way a client without
   ``model_card`` does it — ``get_artifact_detail`` on the model, ``get_execution_detail``
   on its producer, then ``trace`` for the sources (the 4 calls the issue counts).

Each figure is the p50 (median), p90 and min of ``--repeats`` calls after 3 warm-up calls,
on a store opened once, with the size of the answer. Prints one JSON object, including
the store's size (rows and bytes on disk); ``--quick`` uses a 20,000-execution store in a
temporary folder (deleted at exit) and fewer repeats. SQLite only.

    .venv/bin/python bench/bench_model_card.py [--quick] [--executions N] [--repeats N]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synthetic

TARGETS_MS = {"card_model": 30.0}


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
        "p50_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[max(int(len(times) * 0.9) - 1, 0)], 3),
        "min_ms": round(times[0], 3),
        **size(result),
    }


def size(result: Any) -> dict[str, Any]:
    if hasattr(result, "sources_total"):
        return {
            "sources": result.sources_total,
            "sources_complete": result.sources_complete,
            "inputs": result.producer.inputs_total if result.producer else 0,
            "consumers": result.consumers_total,
            "consumers_is_lower_bound": result.consumers_total_is_lower_bound,
            "json_chars": len(result.model_dump_json()),
        }
    return {"calls": result}


def four_calls(store: Any, digest: str) -> int:
    """The baseline: artifact, its producer, the producer's detail, then a trace."""
    from cmf_core.graph.trace import trace

    detail = store.get_artifact_detail(digest)
    made = [e.execution_id for e in detail.events if e.direction == "output"]
    if made:
        store.get_execution_detail(made[0])
    trace(store, digest, depth=10)
    return 3 + bool(made)


def measure(url: str, made: synthetic.SyntheticStore, repeats: int) -> dict[str, Any]:
    from cmf_core.graph.card import model_card
    from cmf_core.graph.trace import trace
    from cmf_core.store import Store

    model, deep = made.model_digest, made.deep_artifact
    with Store(url) as store:
        raw = sorted(trace(store, model, depth=10).sources)[0]
        figures: dict[str, Any] = {
            "card_model": timed(lambda: model_card(store, model), repeats),
            "card_deep_model": timed(lambda: model_card(store, deep), repeats),
            "card_raw_dataset": timed(lambda: model_card(store, raw), repeats),
            "baseline_four_calls": timed(lambda: four_calls(store, model), repeats),
        }
    figures["baseline_over_card"] = round(
        figures["baseline_four_calls"]["p50_ms"] / figures["card_model"]["p50_ms"], 2
    )
    figures["met"] = {name: figures[name]["p50_ms"] <= t for name, t in TARGETS_MS.items()}
    figures["anchors"] = {"model_digest": model, "deep_artifact": deep, "raw_dataset": raw}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--executions", type=int, help="size of the synthetic store")
    parser.add_argument("--repeats", type=int, help="timed calls per figure")
    args = parser.parse_args()
    executions = args.executions or (20_000 if args.quick else 1_000_000)
    repeats = args.repeats or (10 if args.quick else 100)
    report: dict[str, Any] = {
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "executions": executions,
        "repeats": repeats,
        "targets_ms": TARGETS_MS,
    }
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'quick.db'}" if args.quick else None

        def progress(done: int) -> None:
            print(f"generating: {done:,}/{executions:,} executions", file=sys.stderr)

        made = synthetic.ensure(url, executions=executions, progress=progress)
        path = Path(made.url.removeprefix("sqlite:///"))
        report["store"] = {
            "executions": made.executions,
            "artifacts": made.artifacts,
            "events": made.events,
            "metrics": made.metrics,
            "bytes": path.stat().st_size,
        }
        report["sqlite"] = measure(made.url, made, repeats)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
