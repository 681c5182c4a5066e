"""How long a fresh process takes to get going with cmf.

What it measures (wall time of a new process, as a user waits for it, median of
``--repeats`` runs after one untimed run that warms the file and bytecode caches):

1. ``python -c "import cmf_core"`` — **target ≤ 300 ms**. Floor, measured in
   the same run: ``python -c pass`` (interpreter start-up alone; nothing is
   subtracted from any figure).
2. ``python -c "from cmf_core import Cmf"`` — what a training script pays
   before its first line of work (no target; shown for comparison).
3. ``cmf --help`` — **target ≤ 300 ms**.
4. ``python -c "import cmf_mcp.mcp.server"`` (the module ``create_server`` lives in) —
   **target ≤ the MCP SDK's own import + 150 ms**, that baseline (``from
   mcp.server.mcpserver import MCPServer``, what ``create_server`` needs of the SDK)
   measured in the same run, the two interleaved.
5. ``cmf ls executions --limit 20`` on a 10,000-execution SQLite store as a new process
   — **target ≤ ``python -c "import sqlalchemy"`` + 100 ms**, that baseline measured
   in the same run, interleaved; and printing a 10,000-row table — **target ≤ 500 ms**,
   against the rich table the CLI used to print (both in :mod:`bench.cli_listing`).
6. A cold process that imports cmf_core, creates a new store in a fresh folder
   (a Git repository with one commit, no ``.cmf/`` yet) and logs one execution
   with one small input file and one metric — **target ≤ 1.5 s**. Baseline:
   MLflow's first run on a new SQLite store in a cold process (``import
   mlflow``, ``start_run``, ``log_metric``, ``end_run``) in the same kind of
   folder. Both also report the time spent after the interpreter started.

Then, once each, ``-X importtime`` on ``import cmf_core``, ``from cmf_core
import Cmf``, ``cmf --help``, ``import cmf_mcp.mcp.server`` and ``cmf ls executions
--limit 20``: the total import
time and the five costliest imports — by own time, and among the modules cmf's
own code imports from other packages, by cumulative time (what making that import
lazy would save).

Prints one JSON object on stdout (times in ms); temporary folders are deleted
at exit. ``--quick`` runs a short smoke version.

    .venv/bin/python bench/bench_startup.py [--quick]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cli_listing
from bench.harness import guard, machine, make_project, summary_ms

TARGET_IMPORT_MS = 300.0
TARGET_HELP_MS = 300.0
TARGET_COLD_RUN_MS = 1500.0
TARGET_MCP_SERVER_OVER_SDK_MS = 150.0
MCP_SDK_IMPORT = "from mcp.server.mcpserver import MCPServer"
MCP_SERVER_IMPORT = "import cmf_mcp.mcp.server"
# MLflow 3 sends usage telemetry unless told not to; the benchmark stays offline.
MLFLOW_OFFLINE = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
FIRST_PARTY = ("cmf_core", "cmf_mcp")

CMF_COLD_RUN = """
import sys, time
started = time.perf_counter()
from pathlib import Path
from cmf_core import Cmf
root = Path(sys.argv[1])
with Cmf(pipeline="bench", project_root=root) as cmf:
    with cmf.execution("train", params={"lr": 0.01}) as run:
        run.log_dataset(root / "data" / "input.csv", event="input")
        run.log_metrics({"accuracy": 0.93})
    assert cmf.store.count("executions") == 1
print(time.perf_counter() - started)
"""

MLFLOW_COLD_RUN = """
import logging, sys, time
started = time.perf_counter()
import mlflow

logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)
mlflow.set_tracking_uri(f"sqlite:///{sys.argv[1]}/mlflow.db")
with mlflow.start_run():
    mlflow.log_param("lr", 0.01)
    mlflow.log_metric("accuracy", 0.93)
print(time.perf_counter() - started)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--repeats", type=int, help="timed processes per figure")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 10)
    cold_repeats = args.repeats or (2 if args.quick else 5)
    python = sys.executable
    cmf = find_cmf_command()
    env = child_environment()

    def fresh(command: Sequence[str], what: str, target_ms: float | None = None) -> dict[str, Any]:
        figures = summary_ms(time_processes(command, env, repeats))
        figures["command"] = what
        if target_ms is not None:
            figures["target_ms"] = target_ms
            figures["meets_target"] = figures["median_ms"] <= target_ms
        return figures

    floor = fresh([python, "-c", "pass"], "python -c pass")
    result: dict[str, Any] = {
        "benchmark": "startup",
        "quick": args.quick,
        "machine": machine(),
        "repeats": repeats,
        "python_floor": floor,
        "import_cmf_core": fresh(
            [python, "-c", "import cmf_core"], "python -c 'import cmf_core'", TARGET_IMPORT_MS
        ),
        "import_cmf": fresh(
            [python, "-c", "from cmf_core import Cmf"], "python -c 'from cmf_core import Cmf'"
        ),
        "cmf_help": fresh([cmf, "--help"], "cmf --help", TARGET_HELP_MS),
    }
    for key in ("import_cmf_core", "import_cmf", "cmf_help"):
        result[key]["over_floor_ms"] = round(result[key]["median_ms"] - floor["median_ms"], 3)
    result["import_mcp_server"] = mcp_server_import(python, env, repeats)
    result["cmf_ls"] = cli_listing.ls_against_sqlalchemy(python, cmf, env, repeats, run)
    result["table_10000_rows"] = cli_listing.table_render(repeats)

    cold_cmf = cold_runs(python, CMF_COLD_RUN, env, cold_repeats)
    cold_mlflow = guard(lambda: cold_runs(python, MLFLOW_COLD_RUN, env, cold_repeats))
    result["cold_first_execution"] = {
        "what": "new process: import, create a new store in a fresh folder, log one execution",
        "target_ms": TARGET_COLD_RUN_MS,
        "cmf": cold_cmf,
        "mlflow": cold_mlflow,
        "meets_target": cold_cmf["median_ms"] <= TARGET_COLD_RUN_MS,
        "mlflow_median_over_cmf_median": ratio(cold_mlflow.get("median_ms"), cold_cmf["median_ms"]),
    }

    startup = import_times([python, "-X", "importtime", "-c", "pass"], env)
    result["import_costs"] = {
        "note": "one run under -X importtime (which slows imports down); ms",
        "import cmf_core": import_report(
            [python, "-X", "importtime", "-c", "import cmf_core"], env, startup
        ),
        "from cmf_core import Cmf": import_report(
            [python, "-X", "importtime", "-c", "from cmf_core import Cmf"], env, startup
        ),
        "cmf --help": import_report(
            [cmf, "--help"], {**env, "PYTHONPROFILEIMPORTTIME": "1"}, startup
        ),
        MCP_SERVER_IMPORT: import_report(
            [python, "-X", "importtime", "-c", MCP_SERVER_IMPORT], env, startup
        ),
        "cmf ls executions --limit 20": import_report(
            [cmf, *cli_listing.ls_arguments(cli_listing.STORE_EXECUTIONS, 20)],
            {**env, "PYTHONPROFILEIMPORTTIME": "1"},
            startup,
        ),
    }
    print(json.dumps(result, indent=2))


# -- processes --------------------------------------------------------------------------------


def find_cmf_command() -> str:
    beside = Path(sys.executable).parent / "cmf"
    found = str(beside) if beside.exists() else shutil.which("cmf")
    if found is None:
        sys.exit("No `cmf` command beside this Python or on PATH; install cmf (pip install -e .).")
    return found


def child_environment() -> dict[str, str]:
    """The caller's environment without CMF_* settings, and MLflow kept offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return {**env, **MLFLOW_OFFLINE}


def run(command: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:3])}… exited {done.returncode}: {done.stderr.strip()[-800:]}"
        )
    return done.stdout


def time_processes(command: Sequence[str], env: dict[str, str], repeats: int) -> list[float]:
    run(command, env)  # warms the page cache and writes bytecode; not timed
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(command, env)
        times.append(time.perf_counter() - started)
    return times


def mcp_server_import(python: str, env: dict[str, str], repeats: int) -> dict[str, Any]:
    """``import cmf_mcp.mcp.server`` against the SDK's own import, interleaved run by run."""
    commands = {
        "sdk": [python, "-c", MCP_SDK_IMPORT],
        "cmf_mcp": [python, "-c", MCP_SERVER_IMPORT],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        run(command, env)  # warms the caches; not timed
    for _ in range(repeats):
        for name, command in commands.items():
            started = time.perf_counter()
            run(command, env)
            times[name].append(time.perf_counter() - started)
    sdk, ours = summary_ms(times["sdk"]), summary_ms(times["cmf_mcp"])
    over = round(ours["median_ms"] - sdk["median_ms"], 3)
    return {
        "baseline_sdk": {**sdk, "command": f"python -c '{MCP_SDK_IMPORT}'"},
        "cmf_mcp_server": {**ours, "command": f"python -c '{MCP_SERVER_IMPORT}'"},
        "over_sdk_ms": over,
        "target_over_sdk_ms": TARGET_MCP_SERVER_OVER_SDK_MS,
        "meets_target": over <= TARGET_MCP_SERVER_OVER_SDK_MS,
    }


def cold_runs(python: str, code: str, env: dict[str, str], repeats: int) -> dict[str, Any]:
    """Wall time of ``repeats`` new processes running ``code``, each in a fresh project."""
    walls: list[float] = []
    inside: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cmf_bench_startup_") as tmp:
        for i in range(repeats + 1):  # the first run warms caches and is not counted
            root = make_project(Path(tmp) / f"project{i}")
            started = time.perf_counter()
            out = run([python, "-c", code, str(root)], env, cwd=root)
            wall = time.perf_counter() - started
            if i:
                walls.append(wall)
                inside.append(float(out.strip().splitlines()[-1]))
    figures = summary_ms(walls)
    figures["after_interpreter_start_median_ms"] = round(statistics.median(inside) * 1000, 3)
    return figures


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


# -- -X importtime ----------------------------------------------------------------------------


def import_times(command: Sequence[str], env: dict[str, str]) -> list[tuple[str, int, int, str]]:
    """(module, own µs, cumulative µs, importing module or "") per line of -X importtime."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    rows: list[tuple[str, int, int, int]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, cumulative, label = line[len("import time:") :].split("|", 2)
        depth = (len(label) - len(label.lstrip(" ")) - 1) // 2
        rows.append((label.strip(), int(own), int(cumulative), depth))
    # Lines come children first; reversed, each module follows the module that imported it.
    parents: list[str] = []
    found = []
    for module, own_us, cumulative_us, depth in reversed(rows):
        del parents[depth:]
        found.append((module, own_us, cumulative_us, parents[-1] if parents else ""))
        parents.append(module)
    return found


def import_report(
    command: Sequence[str], env: dict[str, str], startup: list[tuple[str, int, int, str]]
) -> dict[str, Any]:
    at_startup = {name for name, *_ in startup}
    rows = [row for row in import_times(command, env) if row[0] not in at_startup]
    total = sum(cumulative for _, _, cumulative, parent in rows if not parent)

    def package(module: str) -> str:
        return module.split(".")[0]

    # What cmf's own modules (or the command line) import from other packages, with all
    # that comes along: the time that making one import lazy would save.
    pulled_in = [
        row
        for row in rows
        if package(row[0]) not in FIRST_PARTY and (not row[3] or package(row[3]) in FIRST_PARTY)
    ]
    # A package can arrive in several lines (pydantic imports its parts lazily, on the
    # importer's behalf): add them up per package.
    packages: dict[str, tuple[int, set[str]]] = {}
    for module, _, cumulative, parent in pulled_in:
        spent, importers = packages.get(package(module), (0, set()))
        packages[package(module)] = (spent + cumulative, importers | {parent or "(top level)"})
    by_own = sorted(rows, key=lambda row: row[1], reverse=True)[:5]
    by_cumulative = sorted(packages.items(), key=lambda item: item[1][0], reverse=True)[:5]
    return {
        "total_ms": round(total / 1000, 1),
        "top_self": [{"module": m, "self_ms": round(own / 1000, 1)} for m, own, _, _ in by_own],
        "top_imported_by_cmf": [
            {
                "package": name,
                "cumulative_ms": round(spent / 1000, 1),
                "imported_by": sorted(importers),
            }
            for name, (spent, importers) in by_cumulative
        ],
    }


if __name__ == "__main__":
    main()
