"""Metadata sync through a real team server: push a store, push again, pull it all back.

Measured as a user meets it — whole ``cmf`` processes against a real ``cmf server``
(uvicorn) on 127.0.0.1:

1. ``cmf --store <client> metadata push`` of a synthetic SQLite store of N executions
   (bench/synthetic.py: ~3 events and ~5 metrics per execution) to a server on
   PostgreSQL (``--postgres URL`` or ``CMF_TEST_POSTGRES_URL``; else a SQLite server
   store, named in the output) — target ≤ 60 s for 100,000 executions;
2. the same push again: nothing left to send — target ≤ 2 s;
3. ``cmf --store <empty> metadata pull`` into an empty SQLite store — target ≤ 60 s;
4. peak RSS of the client processes and of the server — target ≤ 500 MB each.

Each phase runs once per repeat on new stores (the push is not idempotent to time twice);
medians over ``--repeats``. Counts of the stores after the pull are checked equal to the
source's. Prints JSON.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import machine  # noqa: E402

CMF = str(Path(sys.executable).parent / "cmf")
KINDS = ("pipelines", "stages", "executions", "artifacts", "events", "metrics")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_source(url: str, executions: int) -> dict[str, int]:
    from synthetic import generate

    from cmf_core.store import Store
    from cmf_core.store.journal import journal_everything

    generate(url, executions=executions, seed=0, pipelines=20)
    with Store(url) as store:  # rows written straight into the tables: journal them once
        with store._engine.begin() as conn:
            journal_everything(conn)
        return {kind: store.count(kind) for kind in KINDS}


def counts(url: str) -> dict[str, int]:
    from cmf_core.store import Store

    with Store(url) as store:
        return {kind: store.count(kind) for kind in KINDS}


def timed(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MB) and stdout of one whole process.

    The peak is measured by GNU time, a small process of its own: a child forked from
    this one would report this benchmark's own size (it made the source store) as its
    peak, since the maximum counts the pages it shared before it ran cmf.
    """
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "peak-rss-kb %M", *args], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} failed: {done.stderr[-2000:]}")
    peak = int(done.stderr.rsplit("peak-rss-kb ", 1)[1].split()[0])
    return seconds, peak // 1024, done.stdout


def server_rss_mb(pid: int) -> int:
    """Peak RSS of the server and its children (uvicorn workers)."""
    total = 0
    for line in subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout.split():
        total += server_rss_mb(int(line))
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return total + hwm // 1024


def postgres_store(base: str) -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"cmf_bench_sync_{uuid.uuid4().hex[:8]}"
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), name


def drop_postgres(base: str, name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one_round(
    work: Path, source_url: str, expected: dict[str, int], pg: str | None
) -> dict[str, Any]:
    env = {**os.environ, "CMF_CACHE_INPUTS": "false"}
    env.pop("CMF_SERVER_URL", None)
    env.pop("CMF_SERVER_TOKEN", None)
    client = work / "client.db"
    shutil.copy(source_url.removeprefix("sqlite:///"), client)
    client_url = f"sqlite:///{client}"
    pg_name = None
    if pg:
        server_url, pg_name = postgres_store(pg)
    else:
        server_url = f"sqlite:///{work / 'server.db'}"
    try:
        token = subprocess.run(
            [CMF, "--store", server_url, "token", "create", "--name", "bench", "--scope", "write"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=work,
        ).stdout.split()[0]
        port = free_port()
        server = subprocess.Popen(
            [CMF, "--store", server_url, "server", "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=work,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.1)
            url = f"http://127.0.0.1:{port}"
            push = [CMF, "--store", client_url, "metadata", "push", "--server", url]
            push += ["--token", token, "--json"]
            push_s, push_rss, out = timed(push, env)
            pushed = json.loads(out)
            again_s, _, out = timed(push, env)
            again = json.loads(out)
            empty = f"sqlite:///{work / 'pulled.db'}"
            pull = [CMF, "--store", empty, "metadata", "pull", "--server", url]
            pull_s, pull_rss, _ = timed([*pull, "--token", token, "--json"], env)
            server_mb = server_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        got = counts(empty)
        return {
            "push_s": round(push_s, 2),
            "push_client_rss_mb": push_rss,
            "push_sent_records": pushed["sent"],
            "second_push_s": round(again_s, 2),
            "second_push_sent_records": again["sent"],
            "pull_s": round(pull_s, 2),
            "pull_client_rss_mb": pull_rss,
            "server_peak_rss_mb": server_mb,
            "pulled_equals_source": got == expected,
            "pulled": got,
        }
    finally:
        if pg and pg_name:
            drop_postgres(pg, pg_name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("CMF_TEST_POSTGRES_URL"))
    parser.add_argument("--quick", action="store_true", help="2,000 executions, one round")
    args = parser.parse_args()
    if args.quick:
        args.executions, args.repeats = 2000, 1
    work = Path(tempfile.mkdtemp(prefix="cmf-bench-sync-"))
    try:
        source = f"sqlite:///{work / 'source.db'}"
        expected = make_source(source, args.executions)
        rounds = []
        for index in range(args.repeats):
            folder = work / f"round-{index}"
            folder.mkdir()
            rounds.append(one_round(folder, source, expected, args.postgres))

        def median(key: str) -> float:
            return statistics.median(r[key] for r in rounds)

        result = {
            "benchmark": "sync",
            "machine": machine(),
            "executions": args.executions,
            "source": expected,
            "server_store": "postgresql" if args.postgres else "sqlite",
            "client_store": "sqlite",
            "repeats": args.repeats,
            "push_s": median("push_s"),
            "second_push_s": median("second_push_s"),
            "pull_s": median("pull_s"),
            "peak_rss_mb": {
                "push_client": max(r["push_client_rss_mb"] for r in rounds),
                "pull_client": max(r["pull_client_rss_mb"] for r in rounds),
                "server": max(r["server_peak_rss_mb"] for r in rounds),
            },
            "targets": {"push_s": 60, "second_push_s": 2, "pull_s": 60, "peak_rss_mb": 500},
            "rounds": rounds,
        }
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
