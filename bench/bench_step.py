"""What ``@step`` costs per call, against the bare function and a hand-written execution.

A function with three JSON arguments and no inputs or outputs is called
``--calls`` times (after a warm-up) in three forms, in the same process, on one
fresh SQLite store in a temporary Git project:

- ``bare``: the undecorated function (the baseline the target is measured over);
- ``step``: decorated with ``@step(cmf=cmf)``: one execution per call (params
  from the arguments, start, end);
- ``by_hand``: ``with cmf.execution(stage, params=...)`` around the body — the
  same record written without the decorator, so ``step_over_by_hand`` is what
  reading the signature adds.

Each form is timed per call; the figure is the median over ``--repeats``
rounds of each round's median. **Target: ``overhead_ms`` (step − bare) ≤ 2 ms.**
Prints one JSON object; the temporary project is deleted. ``--quick`` runs a
short smoke version.

    .venv/bin/python bench/bench_step.py [--quick] [--calls N] [--repeats N]
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

from bench.harness import machine, make_project

TARGET_OVERHEAD_MS = 2.0


def per_call_ms(call: Callable[[], Any], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    calls, repeats = (30, 2) if args.quick else (args.calls, args.repeats)
    for name in [n for n in os.environ if n.startswith("CMF_")]:
        del os.environ[name]

    from cmf_core import Cmf, step

    def body(x: int, lr: float = 0.1, name: str = "a") -> int:
        return x + 1

    with tempfile.TemporaryDirectory(prefix="cmf-bench-step-") as tmp:
        root = make_project(Path(tmp) / "project")
        os.chdir(root)
        with Cmf(pipeline="bench", store=f"sqlite:///{root / '.cmf' / 'metadata.db'}") as cmf:
            decorated = step(cmf=cmf, stage="decorated")(body)

            def by_hand() -> int:
                with cmf.execution("by-hand", params={"x": 1, "lr": 0.1, "name": "a"}):
                    return body(1)

            forms: dict[str, Callable[[], Any]] = {
                "bare": lambda: body(1),
                "step": lambda: decorated(1),
                "by_hand": by_hand,
            }
            for form in forms.values():  # warm-up: environment, Git snapshot, stages
                per_call_ms(form, 10)
            rounds: dict[str, list[float]] = {name: [] for name in forms}
            for _ in range(repeats):
                for name, form in forms.items():
                    rounds[name].append(per_call_ms(form, calls))
            recorded = cmf.store.count("executions")
    medians = {name: statistics.median(values) for name, values in rounds.items()}
    overhead = medians["step"] - medians["bare"]
    result = {
        "bench": "step",
        "machine": machine(),
        "calls_per_round": calls,
        "rounds": repeats,
        "executions_recorded": recorded,
        "per_call_median_ms": {name: round(value, 4) for name, value in medians.items()},
        "overhead_ms": round(overhead, 4),
        "step_over_by_hand": round(medians["step"] / medians["by_hand"], 3),
        "step_over_bare": round(medians["step"] / medians["bare"], 1),
        "target_overhead_ms": TARGET_OVERHEAD_MS,
        "target_met": overhead <= TARGET_OVERHEAD_MS,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
