"""Many processes recording into one SQLite store at once.

What it measures: ``--workers`` processes (8; started with multiprocessing's
``spawn``) each record ``--executions`` executions (500) into ONE SQLite store
(``.cmf/metadata.db`` of a temporary project that is a Git repository with one
commit). Each execution: start, log one small input file (the same file in
every worker, so they all record the same artifact), log one metric, end.
Every worker opens its ``Cmf`` first (the store is new, so they race to create
it); when all are ready they are released together and the timed part begins.
Every exception in a worker is caught and counted, and the first messages kept.

Afterwards the store is read back: the number of executions and metrics
recorded, and the number left ``running`` or marked ``failed``.

Target: all ``workers × executions`` executions recorded (4,000), no error,
none left running — and throughput that holds up: executions/s of the
concurrent run against the baseline, one process recording ``--executions``
executions alone into a fresh store, measured in the same run with the same
code. Two cores cannot run eight writers in parallel, and SQLite serialises
writers anyway, so the honest expectation is a ratio near 1, not 8.

Prints one JSON object on stdout (medians over ``--rounds`` rounds, each into a
fresh store); temporary data is deleted at exit. ``--quick`` runs 4 × 50 once.

    .venv/bin/python bench/bench_concurrency.py [--quick]
"""

import argparse
import json
import multiprocessing
import os
import queue
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine, make_project

KEPT_MESSAGES = 5
SETUP_TIMEOUT_S = 300
RUN_TIMEOUT_S = 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (4 × 50, once)")
    parser.add_argument("--workers", type=int, help="processes writing at once")
    parser.add_argument("--executions", type=int, help="executions per process")
    parser.add_argument("--rounds", type=int, help="repeats, each into a fresh store")
    parser.add_argument("--no-input", action="store_true", help="log no input file")
    args = parser.parse_args()
    workers = args.workers or (4 if args.quick else 8)
    per_worker = args.executions or (50 if args.quick else 500)
    rounds = args.rounds or (1 if args.quick else 3)
    with_input = not args.no_input
    for name in list(os.environ):  # spawned workers inherit this environment
        if name.startswith("CMF_"):
            del os.environ[name]

    at_start = machine()  # the load average before the rounds add their own
    with tempfile.TemporaryDirectory(prefix="cmf_bench_concurrency_") as tmp:
        concurrent = [
            run_round(Path(tmp) / f"concurrent{i}", workers, per_worker, with_input)
            for i in range(rounds)
        ]
        serial = [
            run_round(Path(tmp) / f"serial{i}", 1, per_worker, with_input) for i in range(rounds)
        ]
    expected = workers * per_worker
    concurrent_rate = statistics.median(r["executions_per_s"] for r in concurrent)
    serial_rate = statistics.median(r["executions_per_s"] for r in serial)
    all_recorded = all(r["recorded_in_store"] == expected for r in concurrent)
    result = {
        "benchmark": "concurrency",
        "quick": args.quick,
        "machine": at_start,
        "what": "start + " + ("1 input file + " if with_input else "") + "1 metric + end",
        "workers": workers,
        "executions_per_worker": per_worker,
        "rounds": rounds,
        "concurrent": {
            "expected_executions": expected,
            "executions_per_s": round(concurrent_rate, 1),
            "wall_s": round(statistics.median(r["wall_s"] for r in concurrent), 3),
            **{
                f"execution_{name}_ms": round(
                    statistics.median(r[f"execution_{name}_ms"] for r in concurrent), 3
                )
                for name in ("median", "p90", "p99", "max")
            },
            "target": {"lost": 0, "p90_ms": 30, "max_ms": 500},
            "all_recorded": all_recorded,
            "errors": sum(r["errors"] for r in concurrent),
            "left_running": sum(r["left_running"] for r in concurrent),
            "each_round": concurrent,
        },
        "serial_baseline": {
            "what": "one process alone, same code, fresh store",
            "executions_per_s": round(serial_rate, 1),
            # What the machine alone adds (other work, descheduling), with no other writer.
            "execution_max_ms": round(statistics.median(r["execution_max_ms"] for r in serial), 3),
            "each_round": serial,
        },
        "concurrent_over_serial": round(concurrent_rate / serial_rate, 2),
        "ok": all_recorded
        and all(r["errors"] == 0 and r["left_running"] == 0 for r in concurrent + serial),
    }
    print(json.dumps(result, indent=2))


# -- one round --------------------------------------------------------------------------------


def run_round(root: Path, workers: int, per_worker: int, with_input: bool) -> dict[str, Any]:
    make_project(root)
    store_url = f"sqlite:///{root / '.cmf' / 'metadata.db'}"
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    results = context.Queue()
    go = context.Event()
    processes = [
        context.Process(
            target=record_executions,
            args=(index, store_url, str(root), per_worker, with_input, ready, go, results),
        )
        for index in range(workers)
    ]
    launched = time.perf_counter()
    for process in processes:
        process.start()
    setup_errors = []
    try:
        for _ in range(workers):
            problem = ready.get(timeout=SETUP_TIMEOUT_S)
            if problem:
                setup_errors.append(problem)
        started = time.perf_counter()
        go.set()
        reports = [results.get(timeout=RUN_TIMEOUT_S) for _ in range(workers)]
        wall = time.perf_counter() - started
    except queue.Empty:
        for process in processes:
            process.kill()
        raise SystemExit(
            "A worker neither reported nor finished in time; see its stderr."
        ) from None
    finally:
        for process in processes:
            process.join()
    total = time.perf_counter() - launched

    from cmf_core import ExecutionStatus, Store

    with Store(store_url) as store:
        in_store = store.count("executions")
        metrics = store.count("metrics")
        left_running = len(store.list_executions(status=ExecutionStatus.RUNNING, limit=1_000_000))
        failed = len(store.list_executions(status=ExecutionStatus.FAILED, limit=1_000_000))
    recorded = sum(r["recorded"] for r in reports)
    latencies = sorted(t for r in reports for t in r["latencies_s"])
    cpu = sorted(t for r in reports for t in r["cpu_s"])
    messages = setup_errors + [m for r in reports for m in r["messages"]]
    return {
        "workers": workers,
        "recorded_by_workers": recorded,
        "recorded_in_store": in_store,
        "metrics_in_store": metrics,
        "left_running": left_running,
        "failed": failed,
        "errors": len(setup_errors) + sum(r["errors"] for r in reports),
        "first_errors": messages[:KEPT_MESSAGES],
        "wall_s": round(wall, 3),
        "wall_with_process_start_s": round(total, 3),
        "executions_per_s": round(recorded / wall, 1),
        "execution_median_ms": round(statistics.median(latencies) * 1000, 3) if latencies else None,
        "execution_p90_ms": round(percentile(latencies, 0.9) * 1000, 3) if latencies else None,
        "execution_p99_ms": round(percentile(latencies, 0.99) * 1000, 3) if latencies else None,
        "execution_max_ms": round(latencies[-1] * 1000, 3) if latencies else None,
        "executions_over_500_ms": sum(t > 0.5 for t in latencies),
        "execution_cpu_median_ms": round(statistics.median(cpu) * 1000, 3) if cpu else None,
    }


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# -- the worker (runs in a spawned process) ---------------------------------------------------


def record_executions(
    index: int,
    store_url: str,
    root: str,
    count: int,
    with_input: bool,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """Open a Cmf, report ready (or why not), wait for the start, record ``count`` executions."""
    messages: list[str] = []
    errors = 0
    recorded = 0
    latencies: list[float] = []
    cpu: list[float] = []  # CPU seconds of each execution: what waiting for the lock costs none of
    try:
        from cmf_core import Cmf

        cmf = Cmf(pipeline="bench", store=store_url, project_root=root, site=f"worker-{index}")
    except Exception as exc:
        ready.put(f"worker {index} could not open the store: {type(exc).__name__}: {exc}")
        go.wait()
        results.put(
            {
                "recorded": 0,
                "errors": 0,
                "messages": [],
                "latencies_s": [],
                "cpu_s": [],
                "seconds": 0,
            }
        )
        return
    ready.put("")
    source = Path(root) / "data" / "input.csv"
    go.wait()
    started = time.perf_counter()
    for i in range(count):
        begun, begun_cpu = time.perf_counter(), time.process_time()
        try:
            with cmf.execution("train", params={"worker": index, "i": i}) as run:
                if with_input:
                    run.log_dataset(source, event="input")
                run.log_metrics({"loss": 1.0 / (i + 1)})
        except Exception as exc:
            errors += 1
            if len(messages) < KEPT_MESSAGES:
                messages.append(f"worker {index}, execution {i}: {type(exc).__name__}: {exc}")
            continue
        recorded += 1
        latencies.append(time.perf_counter() - begun)
        cpu.append(time.process_time() - begun_cpu)
    seconds = time.perf_counter() - started
    try:
        cmf.close()
    except Exception as exc:
        errors += 1
        messages.append(f"worker {index}, close: {type(exc).__name__}: {exc}")
    results.put(
        {
            "recorded": recorded,
            "errors": errors,
            "messages": messages,
            "latencies_s": latencies,
            "cpu_s": cpu,
            "seconds": seconds,
        }
    )


if __name__ == "__main__":
    main()
