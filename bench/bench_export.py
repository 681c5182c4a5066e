"""How fast, and in how much memory, `cmf export` writes a whole store as OpenLineage and PROV.

What it measures, on the synthetic SQLite store of ``--executions`` (100,000)
executions made by :mod:`bench.synthetic` (20 pipelines, ~3 events per execution):

1. ``stream.<format>``: a whole ``cmf --store sqlite:///… export --format F -o FILE``
   process over every pipeline, as a user runs it, under GNU time
   (``/usr/bin/time``) — wall time (interpreter start and imports included), the
   child's peak RSS, its CPU time (user + system: steadier than wall time when
   other work shares the cores), executions per wall second and per CPU second,
   and the file's size and lines. Median of ``--repeats`` (3) runs.
   **Targets: peak RSS ≤ 300 MB, ≥ 5,000 executions/s.**
2. Baseline, ``in_memory.<format>``: the path cmf used before, still there as
   the reference the streams are tested against, as a whole process too —
   OpenLineage built event by event with openlineage-python's classes
   (``to_openlineage``), PROV built as one prov ``ProvDocument`` and serialised
   at the end (``to_prov``). One run each (``--no-baseline`` skips them).
3. ``same_openlineage``: the streamed OpenLineage file is byte-identical to the
   baseline's (md5). PROV files differ in their blank-node ids and order, so the
   tests compare their records (tests/test_export_stream.py).

Prints one JSON object on stdout; the temporary folder is deleted at exit.

    .venv/bin/python bench/bench_export.py [--quick] [--executions N] [--repeats N] [--no-baseline]
        [--url sqlite:///…]
"""

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine
from bench.synthetic import ensure
from cmf_core.store import Store

TARGET_RSS_MB = 300.0
TARGET_RATE = 5_000.0  # executions per second
CMF = Path(sys.executable).with_name("cmf")
IN_MEMORY = """
import json, sys
from cmf_core.graph.export import to_openlineage, to_prov
from cmf_core.store import Store
fmt, url, out = sys.argv[1:]
with Store(url, read_only=True) as store, open(out, "w", encoding="utf-8") as file:
    if fmt == "prov":
        file.write(to_prov(store) + "\\n")
    else:
        for event in to_openlineage(store):
            file.write(json.dumps(event, ensure_ascii=False) + "\\n")
"""


def timed(command: list[str], work: Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS in MB and CPU seconds (user + system) of one child process,
    run under GNU time: the child's own peak, not the pages a fork from this (larger)
    process would count."""
    report = work / "time.txt"
    started = time.perf_counter()
    child = subprocess.run(
        ["/usr/bin/time", "-o", str(report), "-f", "%M %U %S", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {child.stderr[-800:]}")
    rss_kb, user, system = report.read_text().split()[-3:]
    return elapsed, int(rss_kb) / 1024, float(user) + float(system)


def file_facts(path: Path) -> dict[str, Any]:
    digest, lines = hashlib.md5(), 0
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
            lines += block.count(b"\n")
    return {"mb": round(path.stat().st_size / 1e6, 1), "lines": lines, "md5": digest.hexdigest()}


def measure(
    command: list[str], out: Path, executions: int, repeats: int, work: Path
) -> dict[str, Any]:
    runs = [timed(command, work) for _ in range(repeats)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    return {
        "runs": repeats,
        "median_wall_s": round(wall, 2),
        "median_cpu_s": round(cpu, 2),
        "median_peak_rss_mb": round(statistics.median(r[1] for r in runs), 1),
        "max_peak_rss_mb": round(max(r[1] for r in runs), 1),
        "executions_per_s": round(executions / wall),
        "executions_per_cpu_s": round(executions / cpu),
        "file": file_facts(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 executions, one run")
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--url", help="the synthetic store (default: bench/data/synthetic-…db)")
    args = parser.parse_args()
    executions, repeats = (10_000, 1) if args.quick else (args.executions, args.repeats)
    synthetic = ensure(args.url, executions=executions)
    with Store(synthetic.url):  # a store made at an older schema is upgraded, before timing
        pass
    work = Path(tempfile.mkdtemp(prefix="cmf-bench-export-"))
    result: dict[str, Any] = {
        "machine": machine(),
        "store": {
            "backend": "sqlite",
            "executions": synthetic.executions,
            "artifacts": synthetic.artifacts,
            "events": synthetic.events,
            "pipelines": synthetic.pipelines,
        },
        "targets": {"peak_rss_mb": TARGET_RSS_MB, "executions_per_s": TARGET_RATE},
    }
    try:
        for fmt in ("openlineage", "prov"):
            out = work / f"stream.{fmt}"
            command = [
                str(CMF),
                "--store",
                synthetic.url,
                "export",
                "--format",
                fmt,
                "-o",
                str(out),
            ]
            stream = measure(command, out, synthetic.executions, repeats, work)
            stream["meets_targets"] = {
                "peak_rss": stream["max_peak_rss_mb"] <= TARGET_RSS_MB,
                "rate_by_wall_time": stream["executions_per_s"] >= TARGET_RATE,
                "rate_by_cpu_time": stream["executions_per_cpu_s"] >= TARGET_RATE,
            }
            result.setdefault("stream", {})[fmt] = stream
            if args.no_baseline:
                continue
            base_out = work / f"in_memory.{fmt}"
            command = [sys.executable, "-c", IN_MEMORY, fmt, synthetic.url, str(base_out)]
            base = measure(command, base_out, synthetic.executions, 1, work)
            result.setdefault("in_memory", {})[fmt] = base
            result.setdefault("ratio", {})[fmt] = {
                "wall_in_memory_over_stream": round(
                    base["median_wall_s"] / stream["median_wall_s"], 2
                ),
                "cpu_in_memory_over_stream": round(
                    base["median_cpu_s"] / stream["median_cpu_s"], 2
                ),
                "rss_in_memory_over_stream": round(
                    base["median_peak_rss_mb"] / stream["median_peak_rss_mb"], 2
                ),
            }
            if fmt == "openlineage":
                result["same_openlineage"] = stream["file"]["md5"] == base["file"]["md5"]
            for path in (out, base_out):
                path.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
