"""Benchmark cmf_core.hashing against its baselines; prints JSON.

    python bench/bench_hashing.py [--size-mib 1024] [--files 10000] [--runs 5]

(a) One large file: ``hash_path`` against bare ``hashlib.file_digest(f, "md5")``
    on one core over the same file. ``throughput_ratio`` = ours / baseline
    (target >= 0.9).
(b) A directory of ``--files`` files of 4 KiB (1,000 per folder):
    - the first hash by ``hash_path`` with a fresh MemoryStatCache;
    - ``dvc add`` of the same directory in a fresh DVC repository (the whole
      command, as a user runs it) and, for reference, dvc-data's in-process
      ``build(..., dry_run=True)``, i.e. DVC's hashing alone (target: ours >= 10x
      faster than ``dvc add``);
    - the re-hash of the unchanged directory with the warm stat cache (target
      <= 5 % of the first hash), next to its floor: a bare scandir + stat of
      every file, the least any re-hash that checks the files must do.

Every timing is the median of ``--runs`` runs (``--dvc-runs`` for dvc). Unless
marked "cold", files are in the page cache for both sides ("warm"): the copy
``dvc add`` reads was just written, and ours were just read. The "cold" first
hash evicts the tree's pages with posix_fadvise(DONTNEED) before each run; on a
virtual machine the host may still cache them, so it is a lower bound of a
real cold read. Data lives in bench/data/ (git-ignored) and is reused.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cmf_core.hashing import DEFAULT_WORKERS, MemoryStatCache, hash_path

DATA = Path(__file__).resolve().parent / "data"
DVC = Path(sys.executable).parent / "dvc"


def timed(action: Callable[[], object], before: Callable[[], None] = lambda: None) -> float:
    before()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def interleaved_medians(actions: dict[str, Callable[[], float]], runs: int) -> dict[str, float]:
    """Median seconds of each timed action, run in turn ``runs`` times.

    Taking turns, rather than all runs of one then all of the next, lets each
    side see the same machine load, which matters on a shared machine.
    """
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            times[name].append(action())
    return {name: statistics.median(values) for name, values in times.items()}


def make_large_file(size_mib: int) -> Path:
    path = DATA / f"large-{size_mib}MiB.bin"
    if not path.exists() or path.stat().st_size != size_mib * 2**20:
        DATA.mkdir(parents=True, exist_ok=True)
        block = random.Random(0).randbytes(2**20)
        with path.open("wb") as stream:
            for index in range(size_mib):
                stream.write(index.to_bytes(8, "little") + block[8:])
    return path


def make_tree(files: int, file_bytes: int) -> Path:
    path = DATA / f"tree-{files}x{file_bytes}B"
    marker = DATA / f"{path.name}.complete"
    if not marker.exists():
        shutil.rmtree(path, ignore_errors=True)
        rng = random.Random(1)
        for index in range(files):
            folder = path / f"part{index // 1000:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"file{index:06d}.bin").write_bytes(rng.randbytes(file_bytes))
        marker.write_bytes(b"")
    return path


def evict_pages(tree: Path) -> Callable[[], None]:
    files = [os.path.join(root, name) for root, _, names in os.walk(tree) for name in names]

    def evict() -> None:
        for path in files:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)

    return evict


def bench_large_file(size_mib: int, runs: int) -> dict[str, Any]:
    path = make_large_file(size_mib)

    def baseline() -> str:
        with path.open("rb") as stream:
            return hashlib.file_digest(stream, "md5").hexdigest()

    assert hash_path(path, progress=False).digest == f"md5:{baseline()}"  # also warms the cache
    medians = interleaved_medians(
        {
            "ours": lambda: timed(lambda: hash_path(path, progress=False)),
            "bare": lambda: timed(baseline),
        },
        runs,
    )
    ours, bare = medians["ours"], medians["bare"]
    size = path.stat().st_size
    return {
        "size_bytes": size,
        "hashlib_md5_s": round(bare, 4),
        "hash_path_s": round(ours, 4),
        "hashlib_md5_mb_per_s": round(size / bare / 1e6, 1),
        "hash_path_mb_per_s": round(size / ours / 1e6, 1),
        "throughput_ratio": round(bare / ours, 3),
        "target_throughput_ratio": ">= 0.9",
    }


def dvc_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVC_")}
    env.update(
        HOME=str(home),
        DVC_NO_ANALYTICS="1",
        DVC_TEST="1",
        DVC_SITE_CACHE_DIR=str(home / "site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(home / "global-config"),
    )
    return env


def time_dvc_add(tree: Path) -> tuple[float, str]:
    """Copy ``tree`` into a fresh DVC repo (untimed) and time `dvc add` of it."""
    work = Path(tempfile.mkdtemp(prefix="dvc-run-", dir=DATA))
    try:
        repo, env = work / "repo", dvc_env(work / "home")
        repo.mkdir()
        subprocess.run([str(DVC), "init", "--no-scm", "-q"], cwd=repo, env=env, check=True)
        shutil.copytree(tree, repo / tree.name)
        start = time.perf_counter()
        subprocess.run([str(DVC), "add", "-q", tree.name], cwd=repo, env=env, check=True)
        seconds = time.perf_counter() - start
        text = (repo / f"{tree.name}.dvc").read_text()
        md5 = next(line.split()[-1] for line in text.splitlines() if "md5:" in line)
        return seconds, f"md5:{md5}"
    finally:
        shutil.rmtree(work)


def time_dvc_data_build(tree: Path, runs: int) -> tuple[float, str]:
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    fs = LocalFileSystem()  # type: ignore[no-untyped-call]
    with tempfile.TemporaryDirectory(dir=DATA) as odb_path:
        odb = HashFileDB(fs, odb_path)
        digest = ""

        def run() -> None:
            nonlocal digest
            _, _, obj = build(odb, str(tree), fs, "md5", dry_run=True)
            digest = f"md5:{obj.hash_info.value}"

        return interleaved_medians({"build": lambda: timed(run)}, runs)["build"], digest


def walk_and_stat(tree: Path) -> int:
    """The least a validating re-hash must do: list every folder and stat every file."""
    count = 0
    pending = [str(tree)]
    while pending:
        with os.scandir(pending.pop()) as scan:
            for entry in scan:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    count += entry.stat().st_size > -1
    return count


def bench_directory(files: int, runs: int, dvc_runs: int) -> dict[str, Any]:
    tree = make_tree(files, 4096)
    expected = hash_path(tree, progress=False)
    cold = evict_pages(tree)
    cache = MemoryStatCache()
    hash_path(tree, stat_cache=cache)
    fresh = MemoryStatCache
    medians = interleaved_medians(
        {  # the cold run first: its read leaves the pages warm again for the others
            "first_cold": lambda: timed(lambda: hash_path(tree, stat_cache=fresh()), cold),
            "first": lambda: timed(lambda: hash_path(tree, stat_cache=fresh())),
            "first_serial": lambda: timed(lambda: hash_path(tree, workers=1)),
            "rehash": lambda: timed(lambda: hash_path(tree, stat_cache=cache)),
            "floor": lambda: timed(lambda: walk_and_stat(tree)),
        },
        max(runs, 7),
    )
    first, first_serial = medians["first"], medians["first_serial"]
    first_cold, rehash, floor = medians["first_cold"], medians["rehash"], medians["floor"]
    assert hash_path(tree, stat_cache=cache) == expected
    dvc_times, dvc_digest = [], ""
    for _ in range(dvc_runs):
        seconds, dvc_digest = time_dvc_add(tree)
        dvc_times.append(seconds)
    dvc_add = statistics.median(dvc_times)
    dvc_build, build_digest = time_dvc_data_build(tree, max(1, dvc_runs))
    assert dvc_digest == build_digest == expected.digest, (dvc_digest, build_digest, expected)
    return {
        "files": expected.nfiles,
        "size_bytes": expected.size,
        "workers": DEFAULT_WORKERS,
        "first_hash_s": round(first, 4),
        "first_hash_one_thread_s": round(first_serial, 4),
        "first_hash_cold_s": round(first_cold, 4),
        "rehash_stat_cache_s": round(rehash, 4),
        "rehash_ratio": round(rehash / first, 4),
        "rehash_ratio_vs_cold_first_hash": round(rehash / first_cold, 4),
        "target_rehash_ratio": "<= 0.05",
        "walk_and_stat_floor_s": round(floor, 4),
        "rehash_vs_floor": round(rehash / floor, 2),
        "dvc_add_s": round(dvc_add, 4),
        "dvc_add_speedup": round(dvc_add / first, 1),
        "target_dvc_add_speedup": ">= 10",
        "dvc_data_build_s": round(dvc_build, 4),
        "dvc_data_build_speedup": round(dvc_build / first, 1),
        "digest_equals_dvc": True,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="large file size (MiB)")
    parser.add_argument("--files", type=int, default=10_000, help="files in the directory")
    parser.add_argument("--runs", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--dvc-runs", type=int, default=3, help="runs of `dvc add`")
    args = parser.parse_args()
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "large_file": bench_large_file(args.size_mib, args.runs),
        "directory": bench_directory(args.files, args.runs, args.dvc_runs),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
