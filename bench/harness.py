"""What the process benchmarks share: the machine record, a test project, timing summaries.

Imported by bench_logging.py, bench_startup.py and bench_concurrency.py, which
put the repository root on ``sys.path`` first (they are run as scripts).
"""

import os
import platform
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "cmf bench",
    "GIT_AUTHOR_EMAIL": "bench@cmf.invalid",
    "GIT_COMMITTER_NAME": "cmf bench",
    "GIT_COMMITTER_EMAIL": "bench@cmf.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work skews every figure
    }


def make_project(root: Path) -> Path:
    """A Git repository with one commit, a ``.cmf/`` folder and a small input file."""
    root.mkdir(parents=True)
    env = {**os.environ, **GIT_IDENTITY}
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True, env=env)
    (root / "train.py").write_text("print('training')\n", encoding="utf-8")
    subprocess.run([*git, "add", "train.py"], cwd=root, check=True, env=env)
    subprocess.run([*git, "commit", "-q", "-m", "first"], cwd=root, check=True, env=env)
    (root / ".cmf").mkdir()
    (root / ".git" / "info" / "exclude").write_text(".cmf/\ndata/\n", encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "input.csv").write_text("x,y\n1,2\n3,4\n", encoding="utf-8")
    return root


def guard(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a baseline; if it cannot run (not installed, needs a network), say why instead."""
    try:
        return measure()
    except Exception as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"[:800]}


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    """Count, median, p90, min and max of durations given in seconds, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(statistics.quantiles(ms, n=10, method="inclusive")[8], 3),
        "min_ms": round(ms[0], 3),
        "max_ms": round(ms[-1], 3),
    }
