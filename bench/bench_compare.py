"""How long comparing two executions takes on a large store (and the other history reads).

What it measures, on the synthetic store of ``bench/synthetic.py`` (1,000,000
executions by default; generated once into ``bench/data/`` and reused):

1. **Compare** — ``compare_runs(store, pair)`` for the store's anchor ``pair``: two
   completed train executions of pipeline ``synth-00`` with different params,
   metrics and inputs, whose lineage diverges upstream. Everything is included:
   resolving the ids, params, metrics and step series, inputs and outputs, code,
   environment documents, the lock-step upstream walk and the sentences.
   **Target: median ≤ 20 ms** (SQLite).
   Baseline, same process: ``store.get_execution_detail`` of both executions (what
   two ``cmf show`` calls read), the floor of any comparison.
2. **Compare of three** executions: the pair and the newest train execution of
   ``synth-00``. Reported, no target.
3. ``metric_across_stage`` (newest 50 ``accuracy`` values of ``synth-00``/train),
   ``list_metric_names`` and ``reproduce`` of the pair's first execution.
   Reported, no target.
4. The same on **PostgreSQL** when ``CMF_TEST_POSTGRES_URL`` names a server: the
   synthetic store is generated into a database ``cmf_synthetic_n<N>_s0_p20`` on it
   (kept and reused, like the SQLite file; ``--drop-postgres`` drops it at the end).

Each figure is the median (and p90) of ``--repeats`` calls after 3 warm-up calls,
on a store opened once. Prints one JSON object; ``--quick`` uses a 20,000-execution
store in a temporary folder (deleted at exit) and fewer repeats.

    .venv/bin/python bench/bench_compare.py [--quick] [--executions N] [--repeats N]
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

TARGET_COMPARE_MS = 20.0
POSTGRES_ENV = "CMF_TEST_POSTGRES_URL"


def timed(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    for _ in range(3):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[int(len(times) * 0.9) - 1], 3),
        "min_ms": round(times[0], 3),
    }


def measure(url: str, made: synthetic.SyntheticStore, repeats: int) -> dict[str, Any]:
    from cmf_core.compare.compare import compare_runs
    from cmf_core.compare.metrics import list_metric_names, metric_across_stage
    from cmf_core.recipes.recipe import reproduce
    from cmf_core.store import Store

    first, second = made.pair
    with Store(url) as store:
        recent = store.list_executions(pipeline="synth-00", stage="train", limit=3)
        three = [first, second, next(e.id for e in recent if e.id not in made.pair)]
        result = compare_runs(store, [first, second])
        figures: dict[str, Any] = {
            "compare_2": timed(lambda: compare_runs(store, [first, second]), repeats),
            "baseline_two_execution_details": timed(
                lambda: [store.get_execution_detail(i) for i in (first, second)], repeats
            ),
            "compare_3": timed(lambda: compare_runs(store, three), repeats),
            "metric_across_stage_50": timed(
                lambda: metric_across_stage(store, "synth-00", "train", "accuracy", limit=50),
                repeats,
            ),
            "list_metric_names": timed(lambda: list_metric_names(store, first), repeats),
            "reproduce": timed(lambda: reproduce(store, first), repeats),
        }
    compare_ms = figures["compare_2"]["median_ms"]
    figures["compare_over_baseline"] = round(
        compare_ms / figures["baseline_two_execution_details"]["median_ms"], 2
    )
    figures["pair"] = [first, second]
    figures["divergence"] = [
        {"kind": d.kind, "hops": d.hops, "path": d.path} for d in result.divergence
    ]
    figures["summary"] = result.summary
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--executions", type=int, help="size of the synthetic store")
    parser.add_argument("--repeats", type=int, help="timed calls per figure")
    parser.add_argument("--drop-postgres", action="store_true", help="drop the PostgreSQL copy")
    args = parser.parse_args()
    executions = args.executions or (20_000 if args.quick else 1_000_000)
    repeats = args.repeats or (20 if args.quick else 200)
    report: dict[str, Any] = {
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "executions": executions,
        "repeats": repeats,
        "target_compare_ms": TARGET_COMPARE_MS,
    }
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'quick.db'}" if args.quick else None

        def progress(done: int) -> None:
            print(f"generating: {done:,}/{executions:,} executions", file=sys.stderr)

        made = synthetic.ensure(url, executions=executions, progress=progress)
        report["sqlite"] = measure(made.url, made, repeats)
        report["sqlite"]["met"] = report["sqlite"]["compare_2"]["median_ms"] <= TARGET_COMPARE_MS
        base = os.environ.get(POSTGRES_ENV)
        if base:
            pg = synthetic.postgres_url(base, executions)
            try:
                made_pg = synthetic.ensure(pg, executions=executions, progress=progress)
                report["postgresql"] = measure(pg, made_pg, repeats)
            finally:
                if args.drop_postgres or args.quick:
                    synthetic.drop_postgres(base, pg)
        else:
            report["postgresql"] = f"skipped: {POSTGRES_ENV} is not set"
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
