"""How long searches take on a large store: filters, sorting and cursor pages.

What it measures, on the synthetic stores of ``bench/synthetic.py`` (1,000,000 and
100,000 executions by default; generated once into ``bench/data/`` and reused). Each
figure is one ``cmf_core.search.search.search_executions`` / ``search_artifacts`` call as a
user makes it — parsing the filter, the SQL, building the page of records — with
``limit=50`` (the first page) unless said otherwise:

1. ``metric`` — ``metrics.accuracy >= 0.9``, newest first (the default sort).
   **Target: median ≤ 50 ms on the 1M store (SQLite).** About 1 execution in 10
   matches (train and evaluate runs have ``accuracy`` uniform in 0.6–0.98).
2. Reported, no target: a rarer metric predicate (``>= 0.975``, ~1 in 200); a metric
   and a param (``params.lr < 0.001``); a metric in one pipeline of 20 (``pipeline =
   "synth-03"``); the second page of ``metric`` through its cursor; sorting by the
   metric (``--sort -metrics.accuracy``); a metric predicate nothing matches
   (``metrics.accuracy > 2``: the worst case, every execution is looked at); no
   filter; artifacts of a type, and artifacts by path glob.
   One field matching nothing or (nearly) everything — a metric (``metric_all``,
   ``metric_one_value``), the pipeline, the stage, the status, a label, a param — and
   sorting by a metric or a param with no filter. **Target: median ≤ 50 ms at 1M on
   SQLite and PostgreSQL.** The cases of ``WALK_CASES`` are measured again as
   ``<case>_walk``: the search as it was before ``cmf_core.store.candidates`` (no short
   list of candidates from an index first) — the baseline, in the same run.
3. The same on **PostgreSQL** when ``CMF_TEST_POSTGRES_URL`` names a server: the
   synthetic store is generated into the database ``cmf_synthetic_n<N>_s0_p20`` (the
   one ``bench_lineage.py`` and ``bench_compare.py`` use; kept and reused). A database
   made at an older schema is refused until upgraded: run ``cmf db upgrade`` on it
   (``cmf_core.store.migrate.upgrade_store(url)``) once. A SQLite store is upgraded in
   place when first opened (before any timing).

The indexes these searches rely on (schema revision 0003): ``metrics (name, value,
execution_id) WHERE step IS NULL`` to filter and sort by a final metric,
``artifacts (created_at)`` for the default artifact order and ``artifacts (type,
created_at)`` for artifacts of a type.

Each figure: median, p90 and min of ``--repeats`` calls after 2 warm-up calls (fewer
when a case takes over 10 s in all), on a store opened once, with the number of rows
on the page, and the median CPU time of this process (which holds SQLite's work but not
PostgreSQL's: a check on a loaded machine). Prints one JSON object; ``--quick`` uses a
20,000-execution store in a temporary folder (deleted at exit), fewer repeats and no PostgreSQL.

    .venv/bin/python bench/bench_search.py [--quick] [--sizes 1000000,100000]
        [--repeats N]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synthetic

TARGET_MS = {"metric": 50.0}
POSTGRES_ENV = "CMF_TEST_POSTGRES_URL"
BUDGET_S = 10.0
METRIC = "metrics.accuracy >= 0.9"
EXECUTION_CASES: dict[str, dict[str, Any]] = {
    "metric": {"where": METRIC},
    "metric_rare": {"where": "metrics.accuracy >= 0.975"},
    "metric_and_param": {"where": f"{METRIC} and params.lr < 0.001"},
    "metric_in_pipeline": {"where": f'pipeline = "synth-03" and {METRIC}'},
    "metric_sorted_by_metric": {"where": METRIC, "sort": "-metrics.accuracy"},
    "metric_none_match": {"where": "metrics.accuracy > 2"},
    "no_filter": {},
    # One field, matching nothing or (nearly) everything: the flat-cost target.
    "metric_all": {"where": "metrics.accuracy >= 0"},
    "metric_one_value": {"where": "metrics.accuracy = 0.9"},
    "pipeline_none": {"where": 'pipeline = "nope"'},
    "pipeline_one": {"where": 'pipeline = "synth-03"'},
    "stage_none": {"where": 'stage = "nope"'},
    "stage_train": {"where": 'stage = "train"'},
    "status_running": {"where": 'status = "running"'},
    "status_completed": {"where": 'status = "completed"'},
    "label_none": {"where": 'labels.quality = "nope"'},
    "param_none": {"where": "params.lr > 100"},
    "param_all": {"where": "params.lr >= 0"},
    "sorted_by_metric": {"sort": "-metrics.accuracy"},
    "sorted_by_param": {"sort": "-params.lr"},
    "sorted_by_param_ascending": {"sort": "params.lr"},
}
# Measured a second time as the plain newest-first walk (no index lookup first), the
# search as it was before cmf_core.store.candidates: the baseline, in the same run.
WALK_CASES = ("metric_none_match", "metric_in_pipeline", "pipeline_none", "stage_none",
              "status_running", "label_none", "param_none", "metric_one_value")  # fmt: skip
ARTIFACT_CASES: dict[str, dict[str, Any]] = {
    "artifacts_of_type": {"type": "model"},
    "artifacts_by_path_glob": {"path": "models/*"},
}


def timed(call: Callable[[], Any], repeats: int) -> dict[str, Any]:
    spent = time.perf_counter()
    for _ in range(2):
        page = call()
    times: list[float] = []
    cpu: list[float] = []
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() - spent < BUDGET_S):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 3),
        "cpu_median_ms": round(statistics.median(cpu), 3),  # this process (SQLite's work too)
        "p90_ms": round(times[max(int(len(times) * 0.9) - 1, 0)], 3),
        "min_ms": round(times[0], 3),
        "calls": len(times),
        "rows": len(page.items),
        "has_more": page.has_more,
    }


@contextmanager
def walk_only() -> Iterator[None]:
    """Searches with no short list of candidates from an index (the walk alone)."""
    from cmf_core.store import candidates

    kept = candidates.PROBE_LIMIT
    candidates.PROBE_LIMIT = 0
    try:
        yield
    finally:
        candidates.PROBE_LIMIT = kept


def measure(url: str, repeats: int) -> dict[str, Any]:
    from cmf_core.search.search import search_artifacts, search_executions
    from cmf_core.store import Store

    with Store(url) as store:
        figures: dict[str, Any] = {}
        for name, options in EXECUTION_CASES.items():
            figures[name] = timed(partial(search_executions, store, **options), repeats)
        for name in WALK_CASES:
            with walk_only():
                call = partial(search_executions, store, **EXECUTION_CASES[name])
                figures[f"{name}_walk"] = timed(call, repeats)
        cursor = search_executions(store, METRIC).next_cursor
        figures["metric_second_page"] = timed(
            lambda: search_executions(store, METRIC, cursor=cursor), repeats
        )
        for name, options in ARTIFACT_CASES.items():
            figures[name] = timed(partial(search_artifacts, store, **options), repeats)
    figures["met"] = {name: figures[name]["median_ms"] <= ms for name, ms in TARGET_MS.items()}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--sizes", help="comma-separated store sizes (default 1000000,100000)")
    parser.add_argument("--repeats", type=int, help="timed calls per figure")
    args = parser.parse_args()
    default = "20000" if args.quick else "1000000,100000"
    sizes = [int(n) for n in (args.sizes or default).split(",")]
    repeats = args.repeats or (5 if args.quick else 50)
    base = None if args.quick else os.environ.get(POSTGRES_ENV)
    report: dict[str, Any] = {
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "repeats": repeats,
        "targets_ms": TARGET_MS,
    }

    def progress(done: int) -> None:
        print(f"generating: {done:,} executions", file=sys.stderr)

    with tempfile.TemporaryDirectory() as scratch:
        for executions in sizes:
            url = f"sqlite:///{Path(scratch) / 'quick.db'}" if args.quick else None
            made = synthetic.ensure(url, executions=executions, progress=progress)
            figures: dict[str, Any] = {"sqlite": measure(made.url, repeats)}
            if base:
                pg = synthetic.postgres_url(base, executions)
                synthetic.ensure(pg, executions=executions, progress=progress)
                figures["postgresql"] = measure(pg, repeats)
            else:
                figures["postgresql"] = "skipped: --quick or no " + POSTGRES_ENV
            report[f"executions_{executions}"] = figures
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
