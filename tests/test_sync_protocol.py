"""The sync protocol version: a client and a server of different versions refuse each
other with both versions named and the side to upgrade, before anything is merged.

Real servers on real ports: the team server itself, and, for the servers of other
versions a client may meet, small stand-ins that answer as such a server does."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from server_support import live_server, make_tokens, serving
from sync_support import log_run

from cmf_core.errors import SyncError
from cmf_core.store import Store
from cmf_core.sync.client import SyncClient
from cmf_core.sync.protocol import SYNC_PROTOCOL, SYNC_PROTOCOL_HEADER
from cmf_core.sync.transfer import pull_metadata, push_metadata

OFFER = {"executions": {"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b": "running"}}


def test_the_server_refuses_a_client_of_another_version(store_url: str, tmp_path: Path) -> None:
    token = make_tokens(store_url, "edge-7")["edge-7"]
    auth = {"Authorization": f"Bearer {token}"}
    with live_server(store_url, tmp_path / "hub") as base, httpx.Client(base_url=base) as http:
        older = http.post("/api/v1/sync/missing", json=OFFER, headers=auth)  # states none
        assert older.status_code == 400, older.text
        assert older.headers[SYNC_PROTOCOL_HEADER] == str(SYNC_PROTOCOL)
        detail = older.json()["detail"]
        assert f"This cmf server speaks sync protocol {SYNC_PROTOCOL}" in detail
        assert "the client speaks an older sync protocol" in detail
        assert "Upgrade cmf on the client" in detail and older.json()["kind"] == "protocol"

        newer = {**auth, SYNC_PROTOCOL_HEADER: str(SYNC_PROTOCOL + 1)}
        for method, path in (("GET", "/sync/changes"), ("POST", "/sync/push")):
            answer = http.request(method, "/api/v1" + path, json={}, headers=newer)
            assert answer.status_code == 400, (path, answer.text)
            detail = answer.json()["detail"]
            assert f"the client speaks sync protocol {SYNC_PROTOCOL + 1}" in detail
            assert "Upgrade cmf on this server" in detail

        same = http.post("/api/v1/sync/missing", json=OFFER, headers={**auth, **_stated()})
        assert same.status_code == 200 and same.headers[SYNC_PROTOCOL_HEADER] == str(SYNC_PROTOCOL)
        assert http.get("/api/v1/sync/changes", headers=_stated()).status_code == 401

    with Store(store_url) as hub:  # nothing the refused requests carried was merged
        assert hub.count("executions") == 0 and hub.latest_seq() == 0


def test_a_client_refuses_a_server_of_another_version_before_merging(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge:
        log_run(edge, "fraud", "train", outputs=("model",))
        for stated, said, todo in (
            (None, "speaks an older sync protocol", "Upgrade cmf on the server"),
            (
                str(SYNC_PROTOCOL + 1),
                f"speaks sync protocol {SYNC_PROTOCOL + 1}",
                "Upgrade cmf here",
            ),
        ):
            with stand_in(stated) as (base, asked):
                with SyncClient(base, "cmf_token") as client:
                    for sync in (pull_metadata, push_metadata):
                        with pytest.raises(SyncError) as refused:
                            sync(edge, client)
                        message = str(refused.value)
                        assert said in message and todo in message, message
                        assert f"this cmf speaks sync protocol {SYNC_PROTOCOL}" in message
                assert asked == ["GET /api/v1/sync/changes", "POST /api/v1/sync/missing"]
                assert all(name == str(SYNC_PROTOCOL) for name in asked.stated)
            assert edge.get_cursor(base, "push") == 0 and edge.get_cursor(base, "pull") == 0
        assert edge.count("executions") == 1


def test_a_push_and_pull_of_one_version_state_it_both_ways(sqlite_url: str, tmp_path: Path) -> None:
    token = make_tokens(sqlite_url, "edge-7")["edge-7"]
    with (
        live_server(sqlite_url, tmp_path / "hub") as base,
        Store(f"sqlite:///{tmp_path / 'edge.db'}") as edge,
        Store(f"sqlite:///{tmp_path / 'cloud.db'}") as cloud,
    ):
        run = log_run(edge, "fraud", "train", outputs=("model",))
        with SyncClient(base, token) as client:
            assert push_metadata(edge, client).sent > 0
        with SyncClient(base, token) as client:
            assert pull_metadata(cloud, client).received > 0
        assert cloud.get_execution(run).id == run


class Asked(list[str]):
    """The requests a stand-in server got, and the protocol versions they stated."""

    def __init__(self) -> None:
        super().__init__()
        self.stated: list[str | None] = []


@contextmanager
def stand_in(stated: str | None) -> Iterator[tuple[str, Asked]]:
    """A server answering the sync routes as one of protocol ``stated`` does (None: a cmf
    from before the version check, which states none), on a real port."""
    app = FastAPI()
    asked = Asked()
    headers = {} if stated is None else {SYNC_PROTOCOL_HEADER: stated}

    def answer(request: Request, body: dict[str, Any]) -> JSONResponse:
        asked.append(f"{request.method} {request.url.path}")
        asked.stated.append(request.headers.get(SYNC_PROTOCOL_HEADER))
        return JSONResponse(body, headers=headers)

    @app.get("/api/v1/sync/changes")
    def changes(request: Request) -> JSONResponse:
        page = {"pipelines": [], "stages": [], "executions": [], "artifacts": []}
        return answer(request, {"records": page, "last": 0, "more": False, "latest": 0})

    @app.post("/api/v1/sync/missing")
    def missing(request: Request) -> JSONResponse:
        return answer(request, {})

    with serving(app) as base:
        yield base, asked


def _stated() -> dict[str, str]:
    return {SYNC_PROTOCOL_HEADER: str(SYNC_PROTOCOL)}
