"""The team server's app over real HTTP (TestClient), on SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cmf_core.auth import create_token
from cmf_core.store import Store
from cmf_core.tracking import Cmf
from cmf_mcp.http.app import create_app

PROBLEM = "application/problem+json"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / ".cmf").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def recorded(store_url: str, project: Path) -> dict[str, str]:
    """prepare: raw.csv → clean.csv; train: clean.csv → model.pkl."""
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
            train.log_metrics({"accuracy": 0.9})
    return {"prepare": prep.id, "train": train.id}


@pytest.fixture
def tokens(store_url: str, recorded: dict[str, str]) -> dict[str, str]:
    with Store(store_url) as store:
        made = {scope: create_token(store, scope, scope)[1] for scope in ("read", "write", "admin")}
        revoked, secret = create_token(store, "gone", "admin")
        store.revoke_token(revoked.id)
    return {**made, "revoked": secret}


@pytest.fixture
def client(store_url: str, project: Path, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(store_url, project_root=project, mcp=False)) as client:
        yield client


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_health_needs_no_token_and_ready_reads_the_store(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("Bearer cmf_nosuchtoken", 401),
        ("Basic dXNlcjpwdw==", 401),
        ("Bearer", 401),
    ],
)
def test_a_missing_or_bad_token_is_a_401_problem_with_a_challenge(
    client: TestClient, header: str | None, status: int
) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/pipelines", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == status and body["title"] == "Unauthorized" and body["detail"]


def test_a_revoked_token_stops_at_once(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.get("/api/v1/pipelines", headers=auth(tokens["revoked"]))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_scopes_read_write_admin(client: TestClient, tokens: dict[str, str]) -> None:
    for scope in ("read", "write", "admin"):
        assert client.get("/api/v1/pipelines", headers=auth(tokens[scope])).status_code == 200
    weak = client.get("/api/v1/audit", headers=auth(tokens["write"]))
    assert weak.status_code == 403
    assert weak.headers["content-type"] == PROBLEM and weak.json()["kind"] == "scope"
    assert client.get("/api/v1/audit", headers=auth(tokens["admin"])).status_code == 200


def test_read_endpoints_answer_with_cmf_core_records(
    client: TestClient, tokens: dict[str, str], recorded: dict[str, str]
) -> None:
    h = auth(tokens["read"])
    assert [p["name"] for p in client.get("/api/v1/pipelines", headers=h).json()] == ["fraud"]

    page = client.get("/api/v1/executions", params={"limit": 1, "sort": "started_at"}, headers=h)
    assert page.status_code == 200
    first = page.json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = client.get(
        "/api/v1/executions",
        params={"limit": 1, "sort": "started_at", "cursor": first["next_cursor"]},
        headers=h,
    ).json()
    assert rest["items"][0]["id"] != first["items"][0]["id"]

    found = client.get("/api/v1/executions", params={"filter": "stage == 'train'"}, headers=h)
    assert [e["id"] for e in found.json()["items"]] == [recorded["train"]]

    detail = client.get(f"/api/v1/executions/{recorded['train'][:8]}", headers=h).json()
    assert detail["execution"]["id"] == recorded["train"] if "execution" in detail else True

    artifacts = client.get("/api/v1/artifacts", headers=h).json()["items"]
    assert len(artifacts) == 3
    model = client.get("/api/v1/artifacts/model.pkl", headers=h)
    assert model.status_code == 200

    graph = client.get("/api/v1/lineage/model.pkl", params={"depth": 10}, headers=h)
    assert graph.status_code == 200 and graph.json()["nodes"]
    for path in ("/api/v1/trace/model.pkl", "/api/v1/impact/raw.csv"):
        assert client.get(path, headers=h).status_code == 200, path

    ids = [recorded["prepare"], recorded["train"]]
    assert client.get("/api/v1/compare", params={"ids": ids}, headers=h).status_code == 200
    names = client.get("/api/v1/metrics", params={"execution": recorded["train"]}, headers=h)
    assert [m["name"] for m in names.json()] == ["accuracy"]
    stage = client.get(
        "/api/v1/metrics/stage",
        params={"pipeline": "fraud", "stage": "train", "name": "accuracy"},
        headers=h,
    )
    assert stage.status_code == 200 and len(stage.json()) == 1
    assert client.get(f"/api/v1/reproduce/{recorded['train']}", headers=h).status_code == 200


def test_errors_are_problems_without_paths_or_urls(
    client: TestClient, tokens: dict[str, str], store_url: str, project: Path
) -> None:
    h = auth(tokens["read"])
    cases = {
        "/api/v1/executions/ffffffff": 404,
        "/api/v1/lineage/md5:0000": 404,
        "/api/v1/executions?filter=(((": 400,
        "/api/v1/executions?limit=0": 422,
        "/api/v1/compare?ids=only-one": 422,
        "/api/v1/no-such-route": 404,
    }
    for path, status in cases.items():
        response = client.get(path, headers=h)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert {"type", "title", "status", "detail"} <= set(body)
        assert str(project) not in response.text and store_url not in response.text


def test_bodies_over_the_cap_are_413_by_length_and_while_streaming(
    store_url: str, project: Path, tokens: dict[str, str]
) -> None:
    app = create_app(store_url, project_root=project, mcp=False, max_body_bytes=1000)
    with TestClient(app) as client:
        h = {**auth(tokens["write"]), "Content-Type": "application/json"}
        sized = client.post("/api/v1/sync/push", content=b"{" + b" " * 5000 + b"}", headers=h)
        assert sized.status_code == 413 and sized.headers["content-type"] == PROBLEM

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * 500

        streamed = client.post("/api/v1/sync/push", content=chunks(), headers=h)
        assert streamed.status_code == 413 and streamed.headers["content-type"] == PROBLEM


def test_malformed_json_is_a_4xx_problem(client: TestClient, tokens: dict[str, str]) -> None:
    h = {**auth(tokens["write"]), "Content-Type": "application/json"}
    for body in (b"{not json", b"[1, 2", b'"text"', b'{"records": 5}'):
        response = client.post("/api/v1/sync/push", content=body, headers=h)
        assert 400 <= response.status_code < 500, (body, response.text)
        assert response.headers["content-type"] == PROBLEM


def test_cors_is_closed_unless_origins_are_given(
    client: TestClient, store_url: str, project: Path
) -> None:
    preflight = {"Origin": "https://ui.example", "Access-Control-Request-Method": "GET"}
    closed = client.options("/api/v1/pipelines", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    app = create_app(
        store_url, project_root=project, mcp=False, cors_origins=["https://ui.example"]
    )
    with TestClient(app) as open_client:
        answer = open_client.options("/api/v1/pipelines", headers=preflight)
        assert answer.headers["access-control-allow-origin"] == "https://ui.example"
        other = open_client.options(
            "/api/v1/pipelines", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


def test_the_openapi_document_is_typed(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert {"LineageGraph", "LabelledExecutionPage", "Comparison"} <= set(schemas)
    assert "/api/v1/lineage/{ref}" in document["paths"]
