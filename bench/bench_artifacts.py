"""Benchmark artifact bytes: push, verified pull and logging with the cache; prints JSON.

    python bench/bench_artifacts.py [--quick] [--files 10000] [--size-mib 1024] [--runs 3]

(a) Push ``--files`` files of 4 KiB (one directory artifact, 1,000 per folder)
    to an empty local remote: ``cmf artifact push`` against ``dvc push`` of the
    same directory from the same DVC cache, each the whole command as a user
    runs it, the remote emptied before each run. Target: cmf >= 3x faster.
    Then a second ``cmf artifact push`` with nothing new: target <= 0.5 s.
(b) Pull one ``--size-mib`` file from a local remote into an empty cache,
    verified (copy and md5 in one read pass): the in-process ``pull`` and the
    whole ``cmf artifact pull`` command, against ``md5sum`` of the same file
    (the speed of reading and hashing it once) and plain ``cp``. Target: pull
    >= 85 % of md5sum's MB/s.
(c) Log the same file as an output with the cache on (a fresh store and cache
    each run): the whole ``log_artifact`` against its parts measured alone —
    ``hash_path`` (one hash pass) and ``cp`` (one copy) — and with
    ``cache_type = hardlink,copy`` (a link instead of the copy). Target: about
    one hash pass plus one copy.

Every timing is the median of ``--runs`` runs, taken in turns, each after an
``os.sync()`` so that no side pays for the writeback of another's bytes; files
are in the page cache ("warm") for every side. Only push and pull wait for
their bytes to reach the disk (fsync); logging, ``cp`` and ``md5sum`` do not.
Generated data lives in bench/data/ (git-ignored) and is reused; remotes,
caches and stores are made in a temporary folder there and deleted.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import GIT_IDENTITY, guard, machine

DATA = Path(__file__).resolve().parent / "data"
BIN = Path(sys.executable).parent
ENV = {**os.environ, **GIT_IDENTITY, "DVC_NO_ANALYTICS": "1"}
for name in [n for n in ENV if n.startswith("CMF_")]:
    del ENV[name]


def sh(cwd: Path, *command: str, env: dict[str, str] | None = None) -> float:
    """Run a command; return its wall time in seconds (it must succeed)."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env or ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {done.stderr[-500:]}")
    return elapsed


def warm(path: Path) -> None:
    """Read ``path`` once, so every side finds it in the page cache."""
    with path.open("rb") as stream:
        while stream.read(1 << 20):
            pass


def medians(actions: dict[str, Callable[[], float]], runs: int) -> dict[str, float]:
    """Median seconds of each action, run in turns. Before each, ``os.sync()`` writes out
    what the previous one left dirty, so no side pays for another's writeback."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            os.sync()
            times[name].append(action())
    return {name: round(statistics.median(values), 4) for name, values in times.items()}


def make_tree(files: int) -> Path:
    tree = DATA / f"artifacts-tree-{files}x4KiB"
    if not (tree / "done").exists():
        shutil.rmtree(tree, ignore_errors=True)
        for index in range(files):
            path = tree / "data" / f"d{index // 1000:03}" / f"f{index:05}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(index.to_bytes(8, "little") + os.urandom(4088))
        (tree / "done").write_text("")
    return tree / "data"


def make_large(size_mib: int) -> Path:
    path = DATA / f"artifacts-large-{size_mib}MiB.bin"
    if not path.exists() or path.stat().st_size != size_mib << 20:
        DATA.mkdir(parents=True, exist_ok=True)
        block = os.urandom(1 << 20)
        with path.open("wb") as stream:
            for index in range(size_mib):
                stream.write(index.to_bytes(8, "little") + block[8:])
    return path


def dvc_project(root: Path, data: Path) -> tuple[Path, str]:
    """A Git + DVC repo holding ``data`` (dvc add'ed) and a cmf store that logged it."""
    root.mkdir(parents=True)
    sh(root, "git", "init", "-q")
    sh(root, str(BIN / "dvc"), "init", "-q")
    shutil.copytree(data, root / "data")
    sh(root, str(BIN / "dvc"), "add", "-q", "data")
    store = f"sqlite:///{root / '.cmf' / 'metadata.db'}"
    from cmf_core import Cmf

    cmf = Cmf(pipeline="bench", store=store, project_root=root, capture_environment=False)
    with cmf, cmf.execution("make") as run:
        run.log_dataset(root / "data", event="output")
    return root, store


def bench_push(work: Path, files: int, runs: int) -> dict[str, Any]:
    root, store = dvc_project(work / "push", make_tree(files))
    cmf_remote, dvc_remote = work / "cmf-remote", work / "dvc-remote"
    sh(root, str(BIN / "dvc"), "remote", "add", "-d", "bench", str(dvc_remote))
    env = {**ENV, "CMF_STORE_URL": store}
    sh(root, str(BIN / "cmf"), "remote", "add", "shared", str(cmf_remote), "--default", env=env)

    def cmf_push() -> float:
        shutil.rmtree(cmf_remote, ignore_errors=True)
        return sh(root, str(BIN / "cmf"), "artifact", "push", env=env)

    def dvc_push() -> float:
        shutil.rmtree(dvc_remote, ignore_errors=True)
        return sh(root, str(BIN / "dvc"), "push", "-q")

    first = medians({"cmf": cmf_push, "dvc": dvc_push}, runs)
    again = medians(
        {
            "cmf": lambda: sh(root, str(BIN / "cmf"), "artifact", "push", env=env),
            "dvc": lambda: sh(root, str(BIN / "dvc"), "push", "-q"),
        },
        max(runs, 5),
    )
    return {
        "files": files,
        "file_bytes": 4096,
        "cmf_push_s": first["cmf"],
        "dvc_push_s": first["dvc"],
        "speedup_vs_dvc": round(first["dvc"] / first["cmf"], 2),
        "target_speedup": 3.0,
        "cmf_second_push_s": again["cmf"],
        "dvc_second_push_s": again["dvc"],
        "target_second_push_s": 0.5,
    }


def bench_pull(work: Path, size_mib: int, runs: int) -> dict[str, Any]:
    from cmf_core import Cmf
    from cmf_core.artifacts.cache import Cache
    from cmf_core.artifacts.pull import pull_artifacts
    from cmf_core.artifacts.push import push_artifacts
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.artifacts.remotes import add_remote, get_remote

    large = make_large(size_mib)
    root = work / "pull"
    (root / ".cmf").mkdir(parents=True)
    os.link(large, root / "big.bin")
    store = f"sqlite:///{root / '.cmf' / 'metadata.db'}"
    with Cmf(pipeline="big", store=store, project_root=root, capture_environment=False) as cmf:
        with cmf.execution("make") as run:
            run.log_model(root / "big.bin")
        add_remote(root, "shared", str(work / "pull-remote"), default=True)
        cache = Cache.for_project(root)
        remote = RemoteStore(get_remote(root))
        push_artifacts(cmf.store, cache, remote)
        env = {**ENV, "CMF_STORE_URL": store}

        def in_process() -> float:
            shutil.rmtree(cache.root, ignore_errors=True)
            start = time.perf_counter()
            pull_artifacts(cmf.store, cache, remote, progress=False)
            return time.perf_counter() - start

        def command() -> float:
            shutil.rmtree(cache.root, ignore_errors=True)
            return sh(root, str(BIN / "cmf"), "artifact", "pull", env=env)

        on_remote = remote.object_path(next(iter(remote.iter_oids())))
        copy_to = work / "cp-copy.bin"

        def cp() -> float:
            copy_to.unlink(missing_ok=True)
            return sh(work, "cp", on_remote, str(copy_to))

        warm(Path(on_remote))
        times = medians(
            {
                "pull": in_process,
                "cmf_artifact_pull": command,
                "md5sum": lambda: sh(work, "md5sum", on_remote),
                "cp": cp,
            },
            runs,
        )
    mb = (size_mib << 20) / 1e6
    speeds = {name: round(mb / seconds, 1) for name, seconds in times.items()}
    return {
        "size_mib": size_mib,
        "seconds": times,
        "mb_per_s": speeds,
        "pull_over_md5sum": round(speeds["pull"] / speeds["md5sum"], 3),
        "command_over_md5sum": round(speeds["cmf_artifact_pull"] / speeds["md5sum"], 3),
        "target_over_md5sum": 0.85,
    }


def bench_logging(work: Path, size_mib: int, runs: int) -> dict[str, Any]:
    from cmf_core import Cmf
    from cmf_core.hashing import hash_path

    large = make_large(size_mib)
    counter = iter(range(1_000_000))

    def log(cache_type: str) -> float:
        root = work / f"log-{next(counter)}"
        (root / ".cmf").mkdir(parents=True)
        os.link(large, root / "model.bin")
        if cache_type:
            (root / ".cmf" / "config.toml").write_text(f'cache_type = "{cache_type}"\n')
        store = f"sqlite:///{root / '.cmf' / 'metadata.db'}"
        cmf = Cmf(pipeline="p", store=store, project_root=root, capture_environment=False)
        with cmf, cmf.execution("train") as run:
            start = time.perf_counter()
            run.log_model(root / "model.bin")
            elapsed = time.perf_counter() - start
        shutil.rmtree(root)
        return elapsed

    def hashed() -> float:
        start = time.perf_counter()
        hash_path(large, progress=False)
        return time.perf_counter() - start

    copy_to = work / "log-copy.bin"

    def cp() -> float:
        copy_to.unlink(missing_ok=True)
        return sh(work, "cp", str(large), str(copy_to))

    warm(large)
    times = medians(
        {
            "log_with_cache": lambda: log(""),
            "log_with_hardlink": lambda: log("hardlink,copy"),
            "hash_path": hashed,
            "cp": cp,
        },
        runs,
    )
    parts = times["hash_path"] + times["cp"]
    return {
        "size_mib": size_mib,
        "seconds": times,
        "hash_plus_copy_s": round(parts, 4),
        "log_over_hash_plus_copy": round(times["log_with_cache"] / parts, 3),
        "hardlink_log_over_hash": round(times["log_with_hardlink"] / times["hash_path"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="A short smoke run.")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    files, size, runs = (500, 32, 1) if args.quick else (args.files, args.size_mib, args.runs)
    result: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    DATA.mkdir(parents=True, exist_ok=True)  # the work folder is on its file system (links)
    with tempfile.TemporaryDirectory(prefix="work-artifacts-", dir=DATA) as tmp:
        work = Path(tmp)
        result["push"] = guard(lambda: bench_push(work, files, runs))
        result["pull"] = guard(lambda: bench_pull(work, size, runs))
        result["logging"] = guard(lambda: bench_logging(work, size, runs))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
