"""How fast ``cmf run`` records the lines a child process writes to ``CMF_METRICS_FILE``.

A child Python process writes ``--values`` step-metric values as JSON lines
(``{"step": i, "loss": v}``, one value a line; and, as a second case,
``{"step": i, "loss": …, "acc": …, "lr": …, "grad": …}``, four a line) and
exits. Timed, each median of ``--repeats`` runs:

- ``bare``: the child alone, run with ``CMF_METRICS_FILE=/dev/null`` — the
  baseline, measured in the same run;
- ``cmf``: ``run_command`` (what ``cmf run`` calls) around the same child, in
  process, on a fresh SQLite store in a temporary Git project: the pipe, the
  reading thread, parsing, validating, buffering and writing every value, and
  ending the execution (the final flush included);
- ``cmf_run_process`` (one line a value only): the whole ``cmf run`` command,
  interpreter start-up and store opening included.

``values_per_s`` is the values recorded over the wall time of ``cmf``.
**Target: ≥ 100,000 metric values/s.** Prints one JSON object; the temporary
project is deleted. ``--quick`` runs a short smoke version.

    .venv/bin/python bench/bench_line_protocol.py [--quick] [--values N] [--repeats N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine, make_project

TARGET_VALUES_PER_S = 100_000
CHILD = """
import os, sys
n, width = int(sys.argv[1]), int(sys.argv[2])
names = ["loss", "acc", "lr", "grad"][:width]
with open(os.environ["CMF_METRICS_FILE"], "a", buffering=1 << 16) as out:
    for step in range(n // width):
        value = 1.0 / (step + 1)
        out.write('{"step": %d, %s}\\n' % (step, ", ".join('"%s": %r' % (k, value) for k in names)))
"""


def child_command(values: int, width: int) -> list[str]:
    return [sys.executable, "-c", CHILD, str(values), str(width)]


def time_bare(values: int, width: int) -> float:
    env = {**os.environ, "CMF_METRICS_FILE": os.devnull}
    start = time.perf_counter()
    subprocess.run(child_command(values, width), env=env, check=True)
    return time.perf_counter() - start


def time_cmf(root: Path, values: int, width: int, index: int) -> tuple[float, int]:
    from cmf_core import Cmf, run_command

    with Cmf(pipeline="bench", store=f"sqlite:///{root / '.cmf' / 'metadata.db'}") as cmf:
        start = time.perf_counter()
        execution_id, code = run_command(cmf, child_command(values, width), stage=f"s{index}")
        elapsed = time.perf_counter() - start
        assert code == 0
        recorded = sum(
            n for name, n in cmf.store.get_execution_detail(execution_id).step_metrics.items()
        )
    return elapsed, recorded


def time_process(root: Path, values: int) -> float:
    cmf = str(Path(sys.executable).parent / "cmf")
    start = time.perf_counter()
    subprocess.run(
        [cmf, "run", "--pipeline", "bench", "--stage", "process", "--", *child_command(values, 1)],
        cwd=root,
        check=True,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    values, repeats = (20_000, 1) if args.quick else (args.values, args.repeats)
    for name in [n for n in os.environ if n.startswith("CMF_")]:
        del os.environ[name]
    cases: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cmf-bench-lines-") as tmp:
        root = make_project(Path(tmp) / "project")
        os.chdir(root)
        index = 0
        for width in (1, 4):
            bare = [time_bare(values, width) for _ in range(repeats)]
            timed = []
            for _ in range(repeats):
                index += 1
                elapsed, recorded = time_cmf(root, values, width, index)
                assert recorded == values // width * width, recorded
                timed.append(elapsed)
            cmf_s, bare_s = statistics.median(timed), statistics.median(bare)
            cases[f"{width}_value_per_line"] = {
                "values": values // width * width,
                "bare_child_s": round(bare_s, 3),
                "cmf_s": round(cmf_s, 3),
                "values_per_s": round(values // width * width / cmf_s),
                "cmf_over_bare": round(cmf_s / bare_s, 2),
            }
        process = statistics.median(time_process(root, values) for _ in range(repeats))
        cases["1_value_per_line"]["cmf_run_process_s"] = round(process, 3)
        cases["1_value_per_line"]["cmf_run_process_values_per_s"] = round(values / process)
    worst = min(case["values_per_s"] for case in cases.values())
    result = {
        "bench": "line_protocol",
        "machine": machine(),
        "repeats": repeats,
        **cases,
        "target_values_per_s": TARGET_VALUES_PER_S,
        "target_met": worst >= TARGET_VALUES_PER_S,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
