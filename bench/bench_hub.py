"""How long `cmf show` of a widely used artifact takes: a page of its events, not all.

A raw dataset read by every run of a pipeline has hundreds of thousands of events on a
large store. `cmf show` and the other artifact views read one page of them (producers
first, then readers, oldest first) with capped totals and the distinct paths, so the
cost should not grow with the store. On the synthetic store of ``--executions``
(bench/synthetic.py; SQLite, and PostgreSQL when ``CMF_TEST_POSTGRES_URL`` is set), with
the hub being the most-read raw source upstream of the store's model:

- ``page_in_process``: ``store.get_artifact_detail(hub, events_limit=50)`` (what `cmf
  show` asks), median / p90 / min of ``--repeats`` calls after 3 warm-up calls;
- ``all_events_in_process``: the baseline, the same read with every event (what `cmf
  show` did before paging), median of 3;
- ``cmf_show_process``: the whole `cmf --store URL show HUB` process (median of 5) and
  the bytes it printed; ``import_sqlalchemy_process``: ``python -c 'import sqlalchemy'``
  in the same run, the floor of any store command.

Target (issue "Fast at any size"): ≤ 100 ms p50 at 1M, independent of store size.

    .venv/bin/python bench/bench_hub.py [--quick] [--executions N] [--repeats N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synthetic
from bench.bench_lineage import timed

TARGET_MS = 100.0
PAGE = 50


def hub_of(store: Any, made: synthetic.SyntheticStore) -> str:
    """The raw source upstream of the model with the most readers."""
    from cmf_core.graph.trace import trace

    sources = sorted(trace(store, made.model_digest, depth=10).sources)
    counts = {
        digest: store.get_artifact_detail(digest, events_limit=0).consumers_total
        for digest in sources
    }
    return max(sorted(counts), key=lambda digest: counts[digest])


def process_ms(command: list[str], runs: int) -> tuple[float, int]:
    times, printed = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
        printed = len(done.stdout)
    return round(statistics.median(times), 1), printed


def measure(url: str, made: synthetic.SyntheticStore, repeats: int) -> dict[str, Any]:
    from cmf_core.store import Store

    with Store(url, read_only=True) as store:
        hub = hub_of(store, made)
        page = store.get_artifact_detail(hub, events_limit=PAGE)
        figures: dict[str, Any] = {
            "hub": hub,
            "producers_total": page.producers_total,
            "consumers_total": page.consumers_total,
            "paths_total": len(page.paths),
            "page_in_process": timed(
                lambda: len(store.get_artifact_detail(hub, events_limit=PAGE).events), repeats
            ),
        }
        times = []
        for _ in range(3):
            started = time.perf_counter()
            every = store.get_artifact_detail(hub)
            times.append((time.perf_counter() - started) * 1000)
        figures["all_events_in_process"] = {
            "median_ms": round(statistics.median(times), 1),
            "events": len(every.events),
        }
        del every
    cmf = str(Path(sys.executable).with_name("cmf"))
    show_ms, printed = process_ms([cmf, "--store", url, "show", hub], 5)
    floor_ms, _ = process_ms([sys.executable, "-c", "import sqlalchemy"], 5)
    figures["cmf_show_process"] = {"median_ms": show_ms, "bytes_printed": printed}
    figures["import_sqlalchemy_process"] = {"median_ms": floor_ms}
    figures["all_over_page"] = round(
        figures["all_events_in_process"]["median_ms"] / figures["page_in_process"]["median_ms"],
        1,
    )
    figures["met"] = figures["page_in_process"]["median_ms"] <= TARGET_MS
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
        "page": PAGE,
        "target_ms": TARGET_MS,
    }
    report.update(
        synthetic.each_backend(
            executions, lambda url, made: measure(url, made, repeats), quick=args.quick
        )
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
