"""Annotations travel with metadata sync: push, pull, bundles and federation, through a
real team server on a real port, on SQLite and PostgreSQL."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from server_support import free_port, live_server, make_tokens, wait_ready
from sync_support import digest_of, log_run

from cmf_core.search.search import search_executions
from cmf_core.store import Store
from cmf_core.store.annotations import Annotation
from cmf_core.store.batch import RecordBatch
from cmf_core.store.merge import merge_records
from cmf_core.sync.bundle import export_bundle, import_bundle
from cmf_core.sync.client import SyncClient
from cmf_core.sync.federation import federate
from cmf_core.sync.servers import PEER, add_server
from cmf_core.sync.transfer import SyncReport, pull_metadata, push_metadata
from tests.conftest import git

CMF = [sys.executable, "-m", "cmf_mcp"]


def push(store: Store, base: str, token: str, **options: object) -> SyncReport:
    with SyncClient(base, token) as client:
        return push_metadata(store, client, **options)  # type: ignore[arg-type]


def pull(store: Store, base: str, token: str, **options: object) -> SyncReport:
    with SyncClient(base, token) as client:
        return pull_metadata(store, client, **options)  # type: ignore[arg-type]


def label(store: Store, kind: str, target: str, key: str, value: str, **extra: str) -> Annotation:
    return store.insert_annotation(
        target_kind=kind,  # type: ignore[arg-type]
        target_key=target,
        key=key,
        value=value,
        note=extra.get("note"),
        author=extra.get("author", "alice"),
    )


def labels(store: Store, kind: str, target: str) -> dict[str, str | None]:
    found = store.current_labels(kind, target)  # type: ignore[arg-type]
    return {key: annotation.value for key, annotation in found.items()}


def test_a_label_set_at_the_edge_is_seen_at_the_server_and_at_another_site(
    store_url: str, postgres_url: str, tmp_path: Path
) -> None:
    tokens = make_tokens(store_url, "edge-7", "cloud")
    with (
        live_server(store_url, tmp_path / "hub") as base,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
        Store(postgres_url) as cloud,
    ):
        run = log_run(edge, "fraud", "prepare", inputs=("raw",), outputs=("clean",))
        push(edge, base, tokens["edge-7"])
        said = label(edge, "execution", run, "quality", "bad", note="label noise", author="bob")
        label(edge, "artifact", digest_of("raw"), "source", "sensor-3")

        first = push(edge, base, tokens["edge-7"])
        assert first.summary.annotations.new == 2 and first.conflicts == 0
        assert push(edge, base, tokens["edge-7"]).sent == 0

        pulled = pull(cloud, base, tokens["cloud"])
        assert pulled.summary.annotations.new == 2
        assert labels(cloud, "execution", run) == {"quality": "bad"}
        assert labels(cloud, "artifact", digest_of("raw")) == {"source": "sensor-3"}
        assert cloud.annotation_history("execution", run) == [said]  # author, time, note kept
        assert pull(cloud, base, tokens["cloud"]).received == 0
        assert push(cloud, base, tokens["cloud"]).sent == 0

    with Store(store_url) as hub:
        assert hub.annotation_history("execution", run) == [said]
        audited = [e for e in hub.read_audit(limit=1000) if e.kind == "annotation"]
        assert {(e.actor, e.key) for e in audited} == {
            ("edge-7", said.uid),
            ("edge-7", hub.annotation_history("artifact", digest_of("raw"))[0].uid),
        }
        signed = next(e for e in audited if e.key == said.uid)
        assert signed.detail == {"author": "bob", "target": ["execution", run], "key": "quality"}


def test_the_newest_label_wins_at_every_site_whatever_order_it_arrived_in(
    store_url: str, tmp_path: Path
) -> None:
    """The edge says staging, then the cloud says prod; the cloud pushes first, so the
    server and the cloud receive the older one last."""
    tokens = make_tokens(store_url, "edge-7", "cloud")
    with (
        live_server(store_url, tmp_path / "hub") as base,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
        Store(f"sqlite:///{tmp_path / 'cloud.db'}") as cloud,
    ):
        run = log_run(edge, "fraud", "train", outputs=("model",))
        push(edge, base, tokens["edge-7"])
        pull(cloud, base, tokens["cloud"])
        label(edge, "execution", run, "stage", "staging")
        label(cloud, "execution", run, "stage", "prod", author="carol")
        push(cloud, base, tokens["cloud"])
        push(edge, base, tokens["edge-7"])
        pull(edge, base, tokens["edge-7"])
        pull(cloud, base, tokens["cloud"])
        for site in (edge, cloud):
            assert labels(site, "execution", run) == {"stage": "prod"}
            history = site.annotation_history("execution", run)
            assert [a.value for a in history] == ["staging", "prod"]
            assert [e.id for e in search_executions(site, 'labels.stage = "prod"').items] == [run]
            assert not search_executions(site, 'labels.stage = "staging"').items
    with Store(store_url) as hub:
        assert labels(hub, "execution", run) == {"stage": "prod"}
        assert [a.author for a in hub.annotation_history("execution", run)] == ["alice", "carol"]


def test_an_annotation_before_its_run_in_the_journal_still_arrives_page_by_page(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A run journaled again (it gained a metric) after its annotation: pages of one row
    carry the run with the annotation, both ways."""
    tokens = make_tokens(sqlite_url, "edge-7", "cloud")
    with (
        live_server(sqlite_url, tmp_path / "hub") as base,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
        Store(f"sqlite:///{tmp_path / 'cloud.db'}") as cloud,
    ):
        run = log_run(edge, "fraud", "train", outputs=("model",), end=False)
        label(edge, "execution", run, "owner", "team-a")
        label(edge, "artifact", digest_of("model"), "quality", "good")
        edge.add_metrics(run, [("acc", None, 0.9, 1.0)])
        pushed = push(edge, base, tokens["edge-7"], page=1)
        assert pushed.summary.annotations.new == 2 and not pushed.summary.skipped
        pulled = pull(cloud, base, tokens["cloud"], page=1)
        assert pulled.summary.annotations.new == 2 and not pulled.summary.skipped
        assert labels(cloud, "execution", run) == {"owner": "team-a"}
        assert labels(cloud, "artifact", digest_of("model")) == {"quality": "good"}


def test_a_pipeline_push_sends_only_that_pipelines_annotations(
    sqlite_url: str, tmp_path: Path
) -> None:
    tokens = make_tokens(sqlite_url, "edge-7")
    with (
        live_server(sqlite_url, tmp_path / "hub") as base,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
    ):
        mine = log_run(edge, "fraud", "train", inputs=("raw",))
        other = log_run(edge, "other", "x", outputs=("elsewhere",))
        label(edge, "execution", mine, "quality", "good")
        label(edge, "artifact", digest_of("raw"), "source", "sensor-3")
        label(edge, "execution", other, "quality", "bad")
        label(edge, "artifact", digest_of("elsewhere"), "source", "lab")
        sent = push(edge, base, tokens["edge-7"], pipeline="fraud")
        assert sent.summary.annotations.new == 2
    with Store(sqlite_url) as hub:
        assert labels(hub, "execution", mine) == {"quality": "good"}
        assert labels(hub, "artifact", digest_of("raw")) == {"source": "sensor-3"}
        assert hub.annotation_history("execution", other) == []


def test_a_bundle_carries_annotations_and_importing_twice_stores_them_once(
    store_url: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "edge.jsonl.gz"
    with Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge:
        run = log_run(edge, "fraud", "prepare", outputs=("clean",))
        said = label(edge, "execution", run, "quality", "bad", note="noisy", author="bob")
        label(edge, "artifact", digest_of("clean"), "stage", "prod")
        export_bundle(edge, bundle, site="edge-7")
    with Store(store_url) as dc:
        first = import_bundle(dc, bundle)
        assert first.summary is not None and first.summary.annotations.new == 2
        again = import_bundle(dc, bundle)
        assert again.summary is not None
        assert (again.summary.annotations.new, again.summary.annotations.unchanged) == (0, 2)
        assert dc.annotation_history("execution", run) == [said]
        assert labels(dc, "artifact", digest_of("clean")) == {"stage": "prod"}


def test_federation_carries_annotations_and_two_paths_store_one(
    store_url: str, tmp_path: Path
) -> None:
    """The edge pushes to server A and, over another link, to server B; A federates with B:
    B receives the same annotation twice and keeps it once."""
    b_url = f"sqlite:///{tmp_path / 'b.db'}"
    a_tokens = make_tokens(store_url, "edge-7")
    b_tokens = make_tokens(b_url, "edge-7", "datacenter", "hub-a")
    hub_a = tmp_path / "hub-a"
    with (
        live_server(store_url, hub_a) as a,
        live_server(b_url, tmp_path / "hub-b") as b,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
        Store(f"sqlite:///{tmp_path / 'dc.db'}") as datacenter,
        Store(store_url) as a_store,
    ):
        add_server(hub_a, "dc", b, token=b_tokens["hub-a"], table=PEER)
        run = log_run(edge, "fraud", "prepare", outputs=("clean",))
        said = label(edge, "execution", run, "quality", "bad", author="bob")
        push(edge, a, a_tokens["edge-7"])
        push(edge, b, b_tokens["edge-7"])
        reports = federate(a_store, hub_a)
        assert all(report.conflicts == 0 for report in reports)
        pull(datacenter, b, b_tokens["datacenter"])
        assert datacenter.annotation_history("execution", run) == [said]
        later = label(datacenter, "execution", run, "quality", "fixed", author="dana")
        push(datacenter, b, b_tokens["datacenter"])
        federate(a_store, hub_a)
        pull(edge, a, a_tokens["edge-7"])
        assert edge.annotation_history("execution", run) == [said, later]
        assert labels(edge, "execution", run) == {"quality": "fixed"}
        quiet = federate(a_store, hub_a)
        assert [report.received + report.sent for report in quiet] == [0, 0]
    with Store(b_url) as b_store:
        assert b_store.annotation_history("execution", run) == [said, later]
        assert b_store.count_conflicts() == 0


def test_an_annotation_is_applied_with_its_target_in_the_batch_and_refused_without(
    store_url: str, tmp_path: Path
) -> None:
    with Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge:
        run = log_run(edge, "fraud", "prepare", outputs=("clean",))
        on_run = label(edge, "execution", run, "quality", "bad")
        on_data = label(edge, "artifact", digest_of("clean"), "stage", "prod")
        whole = edge.changes_after(0).records
    with Store(store_url) as receiver:
        alone = RecordBatch(annotations=[on_run, on_data])
        refused = merge_records(receiver, alone)
        assert refused.annotations.skipped == 2 and refused.annotations.new == 0
        assert {(s.kind, s.reason) for s in refused.skipped} == {
            ("annotations", "its execution is neither in the batch nor in the store"),
            ("annotations", "its artifact is neither in the batch nor in the store"),
        }
        assert receiver.latest_seq() == 0  # nothing stored, nothing journaled
        merged = merge_records(receiver, whole)
        assert merged.annotations.new == 2 and merged.executions.new == 1
        assert labels(receiver, "execution", run) == {"quality": "bad"}
        assert merge_records(receiver, alone).annotations.unchanged == 2


def test_an_annotation_with_a_known_uid_but_other_content_is_a_kept_conflict(
    store_url: str, tmp_path: Path
) -> None:
    with Store(store_url) as store:
        run = log_run(store, "fraud", "prepare", outputs=("clean",))
        said = label(store, "execution", run, "quality", "bad")
        forged = said.model_copy(update={"value": "good", "author": "mallory"})
        summary = merge_records(store, RecordBatch(annotations=[forged]), source="pushed by x")
        assert summary.annotations.conflicts == 1
        assert summary.conflicts[0].stored == {"value": "bad", "author": "alice"}
        assert store.count_conflicts() == 1
        assert labels(store, "execution", run) == {"quality": "bad"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"uid": "not-a-uuid"}, "not a UUID v7"),
        ({"target_kind": "pipeline"}, "target_kind"),
        ({"target_key": "md5:nothex"}, "not a digest"),
        ({"key": "has space"}, "Cannot annotate with the key"),
        ({"author": " "}, "an author is"),
    ],
)
def test_a_pushed_annotation_that_cannot_be_kept_is_refused_by_the_wire_model(
    sqlite_url: str, change: dict[str, str], problem: str
) -> None:
    from pydantic import ValidationError

    from cmf_core.sync.wire import SyncBatch

    with Store(sqlite_url) as store:
        said = label(store, "artifact", digest_of("raw"), "quality", "bad")
    body = SyncBatch(annotations=[said]).model_dump(mode="json")
    body["annotations"][0].update(change)
    with pytest.raises(ValidationError, match=problem):
        SyncBatch.model_validate(body)


def test_an_older_store_journals_its_annotations_when_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    with Store(url) as store:
        run = log_run(store, "p", "s", outputs=("m",))
        said = label(store, "execution", run, "quality", "bad")
    with sqlite3.connect(path) as conn:  # as a 0007 store left it: annotations unjournaled
        conn.execute("DELETE FROM changes WHERE kind = 'annotation'")
        conn.execute("DROP INDEX ix_events_artifact_direction_created")  # as 0009 found it
        conn.execute("DROP INDEX ix_events_artifact_path")
        conn.execute("CREATE INDEX ix_events_artifact_direction ON events (artifact_id, direction)")
        for trigger in ("insert", "update", "delete"):  # 0010
            conn.execute(f"DROP TRIGGER tr_execution_params_{trigger}")
        conn.execute("DROP TABLE execution_params")
        conn.execute("UPDATE alembic_version SET version_num = '0007'")
    with Store(url) as store:  # a SQLite store is upgraded at open
        assert list(store.changes_after(0).records.annotations) == [said]


def test_two_server_processes_merging_the_same_annotations_at_once_store_each_once(
    postgres_url: str, tmp_path: Path
) -> None:
    """Four copies of one edge store pushed at once through two `cmf server` processes on
    one PostgreSQL database: the same uids arrive four times, concurrently."""
    edge = tmp_path / "edge.db"
    with Store(f"sqlite:///{edge}") as store:
        runs = [log_run(store, "fraud", "train", inputs=("raw",)) for _ in range(20)]
        for run in runs:
            label(store, "execution", run, "quality", "good")
        label(store, "artifact", digest_of("raw"), "source", "sensor-3")
    copies = []
    for i in range(4):
        copy = tmp_path / f"site-{i}.db"
        shutil.copy(edge, copy)
        copies.append(f"sqlite:///{copy}")
    tokens = make_tokens(postgres_url, *(f"site-{i}" for i in range(4)))
    project = tmp_path / "hub"
    (project / ".cmf").mkdir(parents=True)
    env = {**os.environ, "CMF_STORE_URL": postgres_url}
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [*CMF, "server", "--port", str(port)], cwd=project, env=env, stderr=subprocess.DEVNULL
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
            for i, url in enumerate(copies)
        ]
        results = [pusher.communicate(timeout=300) for pusher in pushers]
        assert [pusher.returncode for pusher in pushers] == [0] * 4, results
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    new = [json.loads(out)["summary"]["annotations"]["new"] for out, _ in results]
    assert sum(new) == 21
    with Store(postgres_url) as hub:
        assert hub.count_conflicts() == 0
        assert all(len(hub.annotation_history("execution", run)) == 1 for run in runs)
        assert labels(hub, "artifact", digest_of("raw")) == {"source": "sensor-3"}
        journaled = hub.changes_after(0, limit=10_000).records.annotations
        assert len(journaled) == len({a.uid for a in journaled}) == 21


def test_cmf_annotate_then_cmf_metadata_push_shows_the_label_through_the_servers_api(
    project: Path, sqlite_url: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cmf_core.tracking import Cmf
    from cmf_mcp.cli.main import cli

    git(project, "config", "user.name", "Ana Lima")
    (project / "raw.csv").write_text("x\n1\n")
    with Cmf(pipeline="fraud", capture_environment=False) as cmf, cmf.execution("train") as run:
        run.log_dataset("raw.csv")
    tokens = make_tokens(sqlite_url, "edge-7")
    runner = CliRunner()
    said = runner.invoke(cli, ["annotate", "raw.csv", "quality=bad", "-m", "label noise"])
    assert said.exit_code == 0, said.output
    with live_server(sqlite_url, tmp_path / "hub") as base:
        args = ["metadata", "push", "--server", base, "--token", tokens["edge-7"]]
        pushed = runner.invoke(cli, [*args, "--json"])
        assert pushed.exit_code == 0, pushed.output
        assert json.loads(pushed.stdout)["summary"]["annotations"]["new"] == 1
        again = runner.invoke(cli, args)
        assert "0 record(s) sent" in again.stdout and "0 new annotations" in again.stdout
        headers = {"Authorization": f"Bearer {tokens['edge-7']}"}
        digest = digest_of("x\n1\n")  # raw.csv's bytes
        found = httpx.get(f"{base}/api/v1/artifacts/{digest}", headers=headers).json()
    assert found["labels"] == {"quality": "bad"}
    assert [(a["author"], a["note"]) for a in found["annotations"]] == [("Ana Lima", "label noise")]
