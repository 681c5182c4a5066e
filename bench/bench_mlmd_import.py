"""How long `cmf import-mlmd` takes to bring a large cmflib mlmd file into an empty store.

What it measures, on an mlmd file of ``--executions`` (10,000) executions written
by :mod:`bench.synthetic_mlmd` (ML Metadata's schema, cmflib's properties):

1. ``import``: a whole ``cmf --store sqlite:///… import-mlmd FILE --json``
   process into a new, empty SQLite store, as a user runs it — wall time
   (interpreter start and imports included) and the process's peak RSS (from
   ``os.wait4``, per child). Median of ``--repeats`` (5) runs, each into a new
   store. **Targets: ≤ 10 s and ≤ 300 MB** (2 cores).
2. ``reimport``: the same command again on the filled store (everything is
   already there: the summary says 0 new). No target.
3. ``file_unchanged``: the mlmd file's md5 before and after all runs.
4. Baseline, ``cmflib_query``: cmflib's own time to read the same file
   through ML Metadata — ``CmfQuery(filepath)``, then
   ``get_all_executions_in_pipeline`` and ``get_all_artifacts_by_context`` of
   its pipeline — in a separate Python that has cmflib (``--cmflib-python``,
   else a virtual environment made once under ``bench/data/cmflib-venv`` with
   ``pip install cmflib==0.1.0``; ``--no-cmflib`` skips it; a run is stopped
   after ``--cmflib-timeout`` seconds, 1800). It runs on a copy
   of the file (ML Metadata opens it for writing). Where cmflib cannot be
   installed the JSON says ``"skipped"`` and why. cmflib reads, cmf reads,
   maps and writes: the ratio favours cmflib.

Prints one JSON object on stdout; the temporary folder is deleted at exit.

    .venv/bin/python bench/bench_mlmd_import.py [--quick] [--executions N] [--repeats N]
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import guard, machine
from bench.synthetic_mlmd import write_mlmd

TARGET_S = 10.0
TARGET_RSS_MB = 300.0
CMFLIB_VENV = Path(__file__).resolve().parent / "data" / "cmflib-venv"
CMFLIB_QUERY = """
import json, sys, time
started = time.perf_counter()
from cmflib.cmfquery import CmfQuery
imported = time.perf_counter()
query = CmfQuery(filepath=sys.argv[1])
pipeline = query.get_pipeline_names()[0]
executions = query.get_all_executions_in_pipeline(pipeline)
read_executions = time.perf_counter()
artifacts = query.get_all_artifacts_by_context(pipeline)
done = time.perf_counter()
print(json.dumps({
    "import_s": imported - started,
    "executions_s": read_executions - imported,
    "artifacts_s": done - read_executions,
    "executions": len(executions),
    "artifacts": len(artifacts),
}))
"""


def timed_process(
    command: list[str], env: dict[str, str], *, timeout: float | None = None
) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of one child process (killed past timeout)."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.PIPE)
        killer = threading.Timer(timeout, child.kill) if timeout else None
        if killer is not None:
            killer.start()
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        if killer is not None:
            killer.cancel()
            if timeout is not None and elapsed >= timeout - 0.01:
                raise TimeoutError(f"not finished after {timeout:.0f} s (stopped)")
        child.returncode = os.waitstatus_to_exitcode(status)
        errors = child.stderr.read().decode() if child.stderr else ""
        if child.returncode != 0:
            raise RuntimeError(f"{command[0]} exited {child.returncode}: {errors[-800:]}")
        out.seek(0)
        return elapsed, usage.ru_maxrss / 1024, out.read().decode()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def cmflib_python(given: str | None) -> Path:
    if given:
        return Path(given)
    python = CMFLIB_VENV / "bin" / "python"
    if not (CMFLIB_VENV / "installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(CMFLIB_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "cmflib==0.1.0"],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        (CMFLIB_VENV / "installed").write_text("cmflib==0.1.0\n", encoding="utf-8")
    return python


def measure_cmflib(
    python: Path, mlmd: Path, work: Path, repeats: int, timeout: float
) -> dict[str, Any]:
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    runs = []
    for i in range(repeats):
        copy = work / f"cmflib-{i}.mlmd"
        shutil.copyfile(mlmd, copy)
        command = [str(python), "-c", CMFLIB_QUERY, str(copy)]
        elapsed, rss, out = timed_process(command, env, timeout=timeout)
        runs.append({"wall_s": round(elapsed, 3), "peak_rss_mb": round(rss, 1), **json.loads(out)})
        if elapsed > 120:
            break  # one slow run says enough
    return {
        "what": "CmfQuery(filepath) + get_all_executions_in_pipeline + "
        "get_all_artifacts_by_context, a whole process",
        "runs": len(runs),
        "median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 3),
        "median_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
        "last_run": runs[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--executions", type=int, help="executions in the mlmd file")
    parser.add_argument("--repeats", type=int, help="timed imports")
    parser.add_argument("--cmflib-python", help="a Python that has cmflib, for the baseline")
    parser.add_argument("--no-cmflib", action="store_true", help="skip the cmflib baseline")
    parser.add_argument(
        "--cmflib-timeout", type=float, default=1800, help="seconds a baseline run may take"
    )
    args = parser.parse_args()
    executions = args.executions or (600 if args.quick else 10_000)
    repeats = args.repeats or (2 if args.quick else 5)
    beside = Path(sys.executable).parent / "cmf"
    cmf = str(beside) if beside.exists() else shutil.which("cmf")
    if cmf is None:
        sys.exit("No `cmf` command beside this Python or on PATH; install cmf (pip install -e .).")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMF_")}
    result: dict[str, Any] = {
        "benchmark": "mlmd_import",
        "quick": args.quick,
        "machine": machine(),
        "executions_in_file": executions,
    }
    with tempfile.TemporaryDirectory(prefix="cmf-bench-mlmd-") as tmp:
        work = Path(tmp)
        mlmd = work / "mlmd"
        started = time.perf_counter()
        write_mlmd(mlmd, executions=executions)
        result["file"] = {
            "bytes": mlmd.stat().st_size,
            "generate_s": round(time.perf_counter() - started, 3),
        }
        before = md5(mlmd)
        runs, summary = [], {}
        for i in range(repeats):
            url = f"sqlite:///{work / f'store-{i}' / 'metadata.db'}"
            command = [cmf, "--store", url, "import-mlmd", str(mlmd), "--json"]
            elapsed, rss, out = timed_process(command, env)
            runs.append((elapsed, rss))
            summary = json.loads(out)["records"]
        again = [timed_process(command, env) for _ in range(max(1, repeats // 2))]
        median_s = statistics.median(s for s, _ in runs)
        median_rss = statistics.median(r for _, r in runs)
        result["import"] = {
            "what": "cmf import-mlmd into a new SQLite store, a whole process",
            "runs": repeats,
            "median_s": round(median_s, 3),
            "min_s": round(min(s for s, _ in runs), 3),
            "max_s": round(max(s for s, _ in runs), 3),
            "median_peak_rss_mb": round(median_rss, 1),
            "max_peak_rss_mb": round(max(r for _, r in runs), 1),
            "target_s": TARGET_S,
            "target_rss_mb": TARGET_RSS_MB,
            "meets_target": median_s <= TARGET_S and max(r for _, r in runs) <= TARGET_RSS_MB,
            "new": {kind: summary[kind]["new"] for kind in summary if "new" in summary[kind]},
            "skipped": {
                kind: summary[kind]["skipped"] for kind in summary if "new" in summary[kind]
            },
        }
        reimported = json.loads(again[-1][2])["records"]
        result["reimport"] = {
            "what": "the same command on the filled store (nothing new)",
            "median_s": round(statistics.median(s for s, _, _ in again), 3),
            "new": sum(reimported[k]["new"] for k in reimported if "new" in reimported[k]),
        }
        result["file_unchanged"] = md5(mlmd) == before
        if args.no_cmflib:
            result["cmflib_query"] = {"skipped": "--no-cmflib"}
        else:
            result["cmflib_query"] = guard(
                lambda: measure_cmflib(
                    cmflib_python(args.cmflib_python),
                    mlmd,
                    work,
                    1 if args.quick else 3,
                    args.cmflib_timeout,
                )
            )
        baseline = result["cmflib_query"].get("median_wall_s")
        if baseline:
            result["cmflib_query_over_cmf_import"] = round(baseline / median_s, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
