"""Labels and annotations in the REST API, over real HTTP, on SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cmf_core.annotate import LABELS_SHOWN, annotate
from cmf_core.auth import create_token
from cmf_core.store import Store
from cmf_core.tracking import Cmf
from cmf_mcp.http.app import create_app
from cmf_mcp.http.labelled import ANNOTATIONS_SHOWN


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / ".cmf").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def recorded(store_url: str, project: Path) -> dict[str, str]:
    """prepare: raw.csv → clean.csv (labelled); train (labelled) → model.pkl."""
    for name in ("raw.csv", "clean.csv", "model.pkl"):
        (project / name).write_text(name)
    with Cmf(
        pipeline="fraud", store=store_url, capture_git=False, capture_environment=False
    ) as cmf:
        with cmf.execution("prepare") as prep:
            prep.log_dataset("raw.csv")
            prep.log_dataset("clean.csv", event="output")
        with cmf.execution("train", params={"lr": 0.1}) as train:
            train.log_dataset("clean.csv")
            train.log_model("model.pkl")
    with Store(store_url) as store:
        annotate(store, train.id, "verdict", "promising", author="ana")
        annotate(store, train.id, "verdict", "dead-end", note="overfits", author="ben")
        annotate(store, train.id, "owner", "ana", author="ana")
        annotate(store, train.id, "owner", note="left", author="ben")
        annotate(store, "clean.csv", "quality", "bad", author="cy")
        secret = create_token(store, "reader", "read")[1]
    return {"prepare": prep.id, "train": train.id, "token": secret}


@pytest.fixture
def client(store_url: str, project: Path, recorded: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(
        create_app(store_url, project_root=project, mcp=False),
        headers={"Authorization": f"Bearer {recorded['token']}"},
    ) as client:
        yield client


def test_one_execution_and_one_artifact_carry_labels_and_their_history(
    client: TestClient, recorded: dict[str, str]
) -> None:
    run = client.get(f"/api/v1/executions/{recorded['train']}").json()
    assert run["execution"]["id"] == recorded["train"]
    assert run["labels"] == {"verdict": "dead-end"}  # owner was cleared
    assert [(a["author"], a["key"], a["value"], a["note"]) for a in run["annotations"]] == [
        ("ana", "verdict", "promising", None),
        ("ben", "verdict", "dead-end", "overfits"),
        ("ana", "owner", "ana", None),
        ("ben", "owner", None, "left"),
    ]
    assert run["annotations_total"] == 4 and run["annotations"][0]["recorded_at"]
    bare = client.get(f"/api/v1/executions/{recorded['prepare']}").json()
    assert (bare["labels"], bare["annotations"], bare["annotations_total"]) == ({}, [], 0)
    clean = client.get("/api/v1/artifacts/clean.csv").json()
    assert clean["labels"] == {"quality": "bad"} and clean["annotations"][0]["author"] == "cy"


def test_listings_carry_each_rows_labels(client: TestClient, recorded: dict[str, str]) -> None:
    runs = client.get("/api/v1/executions").json()["items"]
    assert {r["id"]: r["labels"] for r in runs} == {
        recorded["train"]: {"verdict": "dead-end"},
        recorded["prepare"]: {},
    }
    hits = client.get("/api/v1/artifacts").json()["items"]
    labels = {h["path"]: h["labels"] for h in hits}
    assert labels == {"raw.csv": {}, "clean.csv": {"quality": "bad"}, "model.pkl": {}}
    assert all(h["labels_more"] == 0 for h in hits)
    found = client.get("/api/v1/executions", params={"filter": 'labels.verdict = "dead-end"'})
    assert [r["id"] for r in found.json()["items"]] == [recorded["train"]]


def test_labels_and_history_are_bounded(
    client: TestClient, store_url: str, recorded: dict[str, str]
) -> None:
    with Store(store_url) as store:
        for n in range(LABELS_SHOWN + 5):
            annotate(store, recorded["prepare"], f"k{n:03}", str(n), author="ana")
        for n in range(ANNOTATIONS_SHOWN):
            annotate(store, recorded["prepare"], "k000", f"again {n}", author="ana")
    row = next(
        r
        for r in client.get("/api/v1/executions").json()["items"]
        if r["id"] == recorded["prepare"]
    )
    assert len(row["labels"]) == LABELS_SHOWN and row["labels_more"] == 5
    one = client.get(f"/api/v1/executions/{recorded['prepare']}").json()
    assert len(one["labels"]) == LABELS_SHOWN + 5
    assert one["labels"]["k000"] == f"again {ANNOTATIONS_SHOWN - 1}"
    assert len(one["annotations"]) == ANNOTATIONS_SHOWN
    assert one["annotations_total"] == LABELS_SHOWN + 5 + ANNOTATIONS_SHOWN
    assert one["annotations"][-1]["value"] == f"again {ANNOTATIONS_SHOWN - 1}"


def test_the_openapi_document_types_labels_and_annotations(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["LabelledExecution"]["properties"]["labels"]["type"] == "object"
    assert schemas["AnnotatedExecution"]["properties"]["annotations"]["items"] == {
        "$ref": "#/components/schemas/Annotation"
    }
    assert {"LabelledArtifactPage", "AnnotatedArtifact", "Annotation"} <= set(schemas)
