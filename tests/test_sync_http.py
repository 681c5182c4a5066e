"""Push and pull through a real team server on a real port: three sites, federation,
conflicts, faults, and several pushers at once."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from server_support import free_port, live_server, make_tokens, wait_ready
from sync_support import digest_of, log_run

from cmf_core.errors import AuthError, SyncError
from cmf_core.graph.lineage import lineage
from cmf_core.records import EventDirection
from cmf_core.store import ArtifactRow, Store
from cmf_core.sync.client import SyncClient
from cmf_core.sync.federation import federate
from cmf_core.sync.servers import PEER, add_server
from cmf_core.sync.transfer import SyncReport, pull_metadata, push_metadata

CMF = [sys.executable, "-m", "cmf_mcp"]


def push(store: Store, base: str, token: str, **options: object) -> SyncReport:
    with SyncClient(base, token) as client:
        return push_metadata(store, client, **options)  # type: ignore[arg-type]


def pull(store: Store, base: str, token: str) -> SyncReport:
    with SyncClient(base, token) as client:
        return pull_metadata(store, client)


def upstream_digests(store: Store, name: str) -> set[str]:
    graph = lineage(store, digest_of(name), direction="upstream", depth=10)
    return {node.digest for node in graph.nodes if node.kind == "artifact"}


def test_three_sites_converge_through_one_server(
    store_url: str, postgres_url: str, tmp_path: Path
) -> None:
    """Edge (SQLite) prepares, cloud (SQLite) trains, the datacenter (PostgreSQL) evaluates;
    every site ends up with the whole lineage, down to the edge's raw data."""
    tokens = make_tokens(store_url, "edge-7", "cloud", "datacenter")
    with (
        live_server(store_url, tmp_path / "hub") as base,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
        Store(f"sqlite:///{tmp_path / 'cloud.db'}") as cloud,
        Store(postgres_url) as datacenter,
    ):
        log_run(edge, "fraud", "prepare", inputs=("raw",), outputs=("clean",), site="edge-7")
        first = push(edge, base, tokens["edge-7"])
        assert first.new > 0 and first.conflicts == 0

        assert pull(cloud, base, tokens["cloud"]).received > 0
        log_run(cloud, "fraud", "train", inputs=("clean",), outputs=("model",), steps=5)
        push(cloud, base, tokens["cloud"])

        pull(datacenter, base, tokens["datacenter"])
        log_run(datacenter, "fraud", "evaluate", inputs=("model",), outputs=("report",))
        push(datacenter, base, tokens["datacenter"])

        for site, name in ((edge, "edge-7"), (cloud, "cloud"), (datacenter, "datacenter")):
            pull(site, base, tokens[name])
            assert digest_of("raw") in upstream_digests(site, "report")
            assert len(site.list_executions(limit=10)) == 3
            again = push(site, base, tokens[name])
            assert again.sent == 0 and again.conflicts == 0

    with Store(store_url) as hub:
        assert digest_of("raw") in upstream_digests(hub, "report")
        sites = {entry.actor for entry in hub.read_audit(limit=1000)}
        assert sites == {"edge-7", "cloud", "datacenter"}


def test_two_federated_servers_converge_without_clocks(
    store_url: str, sqlite_url: str, tmp_path: Path
) -> None:
    """Edge and cloud use server A, the datacenter server B; A federates with B."""
    a_tokens = make_tokens(store_url, "edge-7", "cloud")
    b_tokens = make_tokens(sqlite_url, "datacenter", "hub-a")
    hub_a = tmp_path / "hub-a"
    with (
        live_server(store_url, hub_a) as a,
        live_server(sqlite_url, tmp_path / "hub-b") as b,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
        Store(f"sqlite:///{tmp_path / 'cloud.db'}") as cloud,
        Store(f"sqlite:///{tmp_path / 'dc.db'}") as datacenter,
        Store(store_url) as a_store,
    ):
        add_server(hub_a, "dc", b, token=b_tokens["hub-a"], table=PEER)

        def sync_peers() -> None:
            assert all(report.conflicts == 0 for report in federate(a_store, hub_a))

        log_run(edge, "fraud", "prepare", inputs=("raw",), outputs=("clean",))
        push(edge, a, a_tokens["edge-7"])
        sync_peers()
        pull(cloud, a, a_tokens["cloud"])
        log_run(cloud, "fraud", "train", inputs=("clean",), outputs=("model",))
        push(cloud, a, a_tokens["cloud"])
        sync_peers()
        pull(datacenter, b, b_tokens["datacenter"])
        log_run(datacenter, "fraud", "evaluate", inputs=("model",), outputs=("report",))
        push(datacenter, b, b_tokens["datacenter"])
        sync_peers()
        pull(edge, a, a_tokens["edge-7"])

        assert digest_of("raw") in upstream_digests(edge, "report")
        assert digest_of("raw") in upstream_digests(datacenter, "report")
        # Federating again moves nothing either way.
        quiet = federate(a_store, hub_a)
        assert [report.received + report.sent for report in quiet] == [0, 0]

    with Store(sqlite_url) as b_store:
        assert len(b_store.list_executions(limit=10)) == 3


def test_a_server_federates_on_an_interval(sqlite_url: str, tmp_path: Path) -> None:
    b_url = f"sqlite:///{tmp_path / 'b.db'}"
    a_tokens = make_tokens(sqlite_url, "edge-7")
    b_tokens = make_tokens(b_url, "datacenter", "hub-a")
    hub_a = tmp_path / "hub-a"
    with live_server(b_url, tmp_path / "hub-b") as b:
        hub_a.mkdir()
        add_server(hub_a, "dc", b, token=b_tokens["hub-a"], table=PEER)
        with (
            live_server(sqlite_url, hub_a, federate_every=0.2) as a,
            Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
            Store(f"sqlite:///{tmp_path / 'dc.db'}") as datacenter,
        ):
            run = log_run(edge, "fraud", "prepare", outputs=("clean",))
            push(edge, a, a_tokens["edge-7"])
            for _ in range(300):
                pull(datacenter, b, b_tokens["datacenter"])
                if datacenter.list_executions(limit=5):
                    break
                time.sleep(0.1)
            assert [e.id for e in datacenter.list_executions(limit=5)] == [run]


def test_conflicts_are_kept_on_both_sides_and_listed(sqlite_url: str, tmp_path: Path) -> None:
    """The same bytes logged as a dataset at one site and a model at another."""
    tokens = {
        **make_tokens(sqlite_url, "edge-7", "cloud"),
        **make_tokens(sqlite_url, "boss", scope="admin"),
    }
    with (
        live_server(sqlite_url, tmp_path / "hub") as base,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
        Store(f"sqlite:///{tmp_path / 'cloud.db'}") as cloud,
    ):
        log_run(edge, "fraud", "prepare", outputs=("weights",))
        stage = cloud.ensure_stage("fraud", "train")
        cloud.start_execution(id="cloud-run-1", stage_id=stage, params={})
        cloud.record_artifact(
            ArtifactRow(digest_of("weights"), "model", 7, None, {}),
            execution_id="cloud-run-1",
            direction=EventDirection.OUTPUT,
            path="weights",
        )
        push(edge, base, tokens["edge-7"])
        pushed = push(cloud, base, tokens["cloud"])
        assert pushed.summary.artifacts.conflicts == 1
        pulled = pull(cloud, base, tokens["cloud"])
        assert pulled.summary.artifacts.conflicts == 1
        assert (
            cloud.get_artifacts([digest_of("weights")])[digest_of("weights")].type == "model"
        )  # its own kept

        read = {"Authorization": f"Bearer {tokens['cloud']}"}
        listed = httpx.get(f"{base}/api/v1/conflicts", headers=read).json()
        assert [(c["kind"], c["key"]) for c in listed] == [("artifacts", digest_of("weights"))]
        assert listed[0]["stored"] == {"type": "dataset"}
        assert listed[0]["incoming"] == {"type": "model"}
        assert listed[0]["source"] == "pushed by cloud"
        admin = {"Authorization": f"Bearer {tokens['boss']}"}
        audit = httpx.get(f"{base}/api/v1/audit", headers=admin, params={"actor": "cloud"})
        assert audit.status_code == 200 and audit.json()


def test_faults_lose_nothing_and_a_rerun_resumes(sqlite_url: str, tmp_path: Path) -> None:
    tokens = {
        **make_tokens(sqlite_url, "edge-7"),
        **make_tokens(sqlite_url, "viewer", scope="read"),
    }
    with (
        live_server(sqlite_url, tmp_path / "hub") as base,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
    ):
        runs = [log_run(edge, "fraud", f"s{i % 3}", outputs=(f"out-{i}",)) for i in range(30)]

        with pytest.raises(AuthError, match="scope 'write'"):
            push(edge, base, tokens["viewer"])
        with pytest.raises(AuthError, match="refused the token"):
            push(edge, base, "cmf_wrong")
        with pytest.raises(SyncError, match="Cannot reach"):
            push(edge, f"http://127.0.0.1:{free_port()}", tokens["edge-7"])
        assert edge.get_cursor(base, "push") == 0
        with Store(f"sqlite:///{tmp_path / 'empty.db'}") as empty:  # nothing to send: checked
            with pytest.raises(SyncError, match="Cannot reach"):
                push(empty, f"http://127.0.0.1:{free_port()}", tokens["edge-7"])
            with pytest.raises(AuthError, match="refused the token"):
                push(empty, base, "cmf_wrong")

        def stop_after_two_pages(done: int, total: int) -> None:
            if done >= 20:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            push(edge, base, tokens["edge-7"], page=10, progress=stop_after_two_pages)
        with Store(sqlite_url) as hub:
            partial = {e.id for e in hub.list_executions(limit=100)}
        assert 0 < len(partial) < len(runs)
        rest = push(edge, base, tokens["edge-7"], page=10)
        assert rest.cursor_before > 0 and rest.conflicts == 0
        with Store(sqlite_url) as hub:
            assert {e.id for e in hub.list_executions(limit=100)} == set(runs)


def test_four_pushers_into_two_server_processes_on_one_database(
    postgres_url: str, tmp_path: Path
) -> None:
    """Shared stages and raw data, pushed at once through two processes: one of each record."""
    tokens = make_tokens(postgres_url, *(f"site-{i}" for i in range(4)))
    sites = []
    for i in range(4):
        url = f"sqlite:///{tmp_path / f'site-{i}.db'}"
        with Store(url) as store:
            for n in range(40):
                log_run(store, "fraud", f"s{n % 4}", inputs=("raw",), outputs=(f"o-{i}-{n}",))
        sites.append(url)
    project = tmp_path / "hub"
    (project / ".cmf").mkdir(parents=True)
    env = {**os.environ, "CMF_STORE_URL": postgres_url}
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [*CMF, "server", "--port", str(port)],
            cwd=project,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", server)
        pushers = [
            subprocess.Popen(
                [
                    *([*CMF, "--store", url, "metadata", "push", "--json"]),
                    *("--server", f"http://127.0.0.1:{ports[i % 2]}"),
                    *("--token", tokens[f"site-{i}"]),
                ],
                cwd=tmp_path,
                env={k: v for k, v in os.environ.items() if not k.startswith("CMF_SERVER")},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i, url in enumerate(sites)
        ]
        results = [pusher.communicate(timeout=300) for pusher in pushers]
        assert [pusher.returncode for pusher in pushers] == [0] * 4, results
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)

    with Store(postgres_url) as hub:
        assert len(hub.list_executions(limit=500)) == 160
        assert hub.count_conflicts() == 0
        assert {s.name for s in hub.list_stages(pipeline="fraud")} == {"s0", "s1", "s2", "s3"}
        everything = hub.changes_after(0, limit=10_000).records
        digests = [a.digest for a in everything.artifacts]
        assert len(digests) == len(set(digests)) == 1 + 160
