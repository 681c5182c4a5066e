"""Readers are not blocked by writers: ``cmf ls executions`` idle and under 8 writers.

What it measures: a SQLite project store (WAL mode) with ``--executions`` recorded
executions (1,000); then the whole ``cmf ls executions --limit 20`` process,
``--reads`` times (15) with nothing else running — the baseline — and the same
number of times while ``--writers`` processes (8) each record executions as fast
as they can (start, one metric, end, in a loop). Reads under load start once every
writer has recorded its first execution.

Target (issue "Nothing lost, nothing leaked", item 3): p90 under writers ≤ 2× the
idle p90. Two cores are shared by the writers and the reader, so part of any
slowdown is CPU, not locking; the writers' own throughput is reported beside it.

Prints one JSON object on stdout; temporary data is deleted at exit.

    .venv/bin/python bench/bench_read_under_writers.py [--quick]
"""

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import GIT_IDENTITY, machine, make_project, summary_ms

CMF = str(Path(sys.executable).with_name("cmf"))


def record(root: str, count: int) -> None:
    from cmf_core import Cmf

    os.chdir(root)
    with Cmf(pipeline="bench", capture_git=False) as cmf:
        for i in range(count):
            with cmf.execution("seed", params={"i": i}) as run:
                run.log_metric("loss", 1.0 / (i + 1))


def writer(root: str, started: Any, stop: Any, counter: Any) -> None:
    from cmf_core import Cmf

    os.chdir(root)
    with Cmf(pipeline="bench", capture_git=False) as cmf:
        first = True
        while not stop.is_set():
            with cmf.execution("write") as run:
                run.log_metric("loss", 0.5)
            with counter.get_lock():
                counter.value += 1
            if first:
                started.release()
                first = False


def read_times(root: Path, reads: int) -> list[float]:
    env = {**os.environ, **GIT_IDENTITY}
    times = []
    for _ in range(reads):
        begin = time.perf_counter()
        done = subprocess.run(
            [CMF, "ls", "executions", "--limit", "20"], cwd=root, env=env, capture_output=True
        )
        times.append(time.perf_counter() - begin)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode()[-500:])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=1_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--reads", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.executions, args.writers, args.reads = 100, 4, 5
    with tempfile.TemporaryDirectory(prefix="cmf-bench-readers-") as tmp:
        root = make_project(Path(tmp) / "project")
        record(str(root), args.executions)
        idle = read_times(root, args.reads)

        spawn = multiprocessing.get_context("spawn")
        started, stop = spawn.Semaphore(0), spawn.Event()
        counter = spawn.Value("i", 0)
        workers = [
            spawn.Process(target=writer, args=(str(root), started, stop, counter))
            for _ in range(args.writers)
        ]
        for w in workers:
            w.start()
        for _ in workers:
            started.acquire(timeout=120)
        before, begin = counter.value, time.perf_counter()
        loaded = read_times(root, args.reads)
        written = counter.value - before
        elapsed = time.perf_counter() - begin
        stop.set()
        for w in workers:
            w.join(timeout=60)
        failed = [w.exitcode for w in workers if w.exitcode != 0]

    idle_ms, loaded_ms = summary_ms(idle), summary_ms(loaded)
    print(
        json.dumps(
            {
                "bench": "read_under_writers",
                "backend": "sqlite (WAL)",
                "store_executions": args.executions,
                "writers": args.writers,
                "command": "cmf ls executions --limit 20 (whole process)",
                "idle_ms": idle_ms,
                "under_writers_ms": loaded_ms,
                "p90_ratio": round(loaded_ms["p90_ms"] / idle_ms["p90_ms"], 2),
                "target_p90_ratio": 2.0,
                "writers_executions_per_s": round(written / elapsed, 1),
                "writer_failures": failed,
                "machine": machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
