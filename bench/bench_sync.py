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
import signal
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
PY_SPY = str(Path(sys.executable).parent / "py-spy")
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


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) and stdout of one whole
    process.

    The peak is measured by GNU time, a small process of its own: a child forked from
    this one would report this benchmark's own size (it made the source store) as its
    peak, since the maximum counts the pages it shared before it ran cmf.
    """
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "peak-rss-kb %M cpu-s %U %S", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} failed: {done.stderr[-2000:]}")
    peak, _, user, system = done.stderr.rsplit("peak-rss-kb ", 1)[1].split()[:4]
    return seconds, float(user) + float(system), int(peak) // 1024, done.stdout


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and of its children, living or reaped."""
    total = 0.0
    for line in subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout.split():
        total += cpu_s(int(line))
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return total
    return total + sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s(base: str | None, name: str | None) -> float:
    """CPU seconds of the PostgreSQL backends serving database ``name`` now."""
    if not base or not name:
        return 0.0
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        pids = [
            r[0]
            for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])
        ]
    return sum(cpu_s(pid) for pid in pids)


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


def spy(out: Path) -> list[str]:
    """py-spy sampling 50 times a second into ``out`` (collapsed stacks, for flamegraphs)."""
    return [PY_SPY, "record", "-f", "raw", "-r", "50", "-o", str(out)]


def one_round(
    work: Path,
    source_url: str,
    expected: dict[str, int],
    pg: str | None,
    profile: Path | None = None,
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
            empty = f"sqlite:///{work / 'pulled.db'}"
            pull = [CMF, "--store", empty, "metadata", "pull", "--server", url]
            pull += ["--token", token, "--json"]
            phases: dict[str, dict[str, Any]] = {}
            for phase, args in (("push", push), ("second_push", push), ("pull", pull)):
                server_before = cpu_s(server.pid)
                pg_before = postgres_cpu_s(pg, pg_name)
                sampler = None
                if profile is not None:
                    server_out = profile / f"{phase}-server.txt"
                    sampler = subprocess.Popen(
                        [*spy(server_out), "--pid", str(server.pid)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    args = [*spy(profile / f"{phase}-client.txt"), "--", *args]
                wall, cpu, rss, out = timed(args, env)
                if sampler is not None:
                    sampler.send_signal(signal.SIGINT)
                    sampler.wait(timeout=60)
                # py-spy says what it wrote on stdout too
                result = json.loads(
                    "\n".join(s for s in out.splitlines() if not s.startswith("py-spy>"))
                )
                phases[phase] = {
                    "wall_s": round(wall, 2),
                    "client_cpu_s": round(cpu, 1),
                    "server_cpu_s": round(cpu_s(server.pid) - server_before, 1),
                    "postgres_cpu_s": round(postgres_cpu_s(pg, pg_name) - pg_before, 1),
                    "client_rss_mb": rss,
                    "records": result.get("sent", result.get("received")),
                }
            server_mb = server_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        got = counts(empty)
        return {
            "push_s": phases["push"]["wall_s"],
            "push_client_rss_mb": phases["push"]["client_rss_mb"],
            "push_sent_records": phases["push"]["records"],
            "second_push_s": phases["second_push"]["wall_s"],
            "second_push_sent_records": phases["second_push"]["records"],
            "pull_s": phases["pull"]["wall_s"],
            "pull_client_rss_mb": phases["pull"]["client_rss_mb"],
            "server_peak_rss_mb": server_mb,
            "pulled_equals_source": got == expected,
            "pulled": got,
            "phases": phases,
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
    parser.add_argument(
        "--profile", type=Path, help="write py-spy samples of client and server per phase here"
    )
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
            rounds.append(one_round(folder, source, expected, args.postgres, args.profile))

        def median(key: str) -> float:
            return float(statistics.median(r[key] for r in rounds))

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
            "cpu_s": {
                phase: {
                    side: statistics.median(r["phases"][phase][side] for r in rounds)
                    for side in ("client_cpu_s", "server_cpu_s", "postgres_cpu_s")
                }
                for phase in ("push", "second_push", "pull")
            },
            "load_average_1min_after": round(os.getloadavg()[0], 2),
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
