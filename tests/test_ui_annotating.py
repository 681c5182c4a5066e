"""Adding a label from the web UI: a write token's form, signed with its name; nothing else."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cmf_core.annotate import annotation_history
from cmf_core.store import Store
from cmf_mcp.http.app import create_app
from cmf_mcp.http.ui.local import create_ui_app
from tests.test_ui_pages import secret_of, sign_in, well_formed
from tests.ui_support import HOSTILE, record_pipeline


@pytest.fixture
def ids(sqlite_url: str, root: Path) -> dict[str, str]:
    return record_pipeline(sqlite_url, root)


@pytest.fixture
def team(sqlite_url: str, root: Path, ids: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_url, project_root=root, mcp=False)) as client:
        yield client


def form_of(page: str) -> dict[str, str] | None:
    """The hidden fields of the page's annotation form, or None when it shows none."""
    found = re.search(r'<form action="/annotations" method="post".*?</form>', page, re.S)
    if found is None:
        return None
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', found.group(0)))


def history(store_url: str, kind: str, key: str) -> list[tuple[str, str | None, str | None, str]]:
    with Store(store_url) as store:
        return [
            (a.key, a.value, a.note, a.author)
            for a in annotation_history(store, kind, key)  # type: ignore[arg-type]
        ]


def test_a_write_token_labels_an_execution_from_its_page_signed_with_its_name(
    team: TestClient, sqlite_url: str, ids: dict[str, str]
) -> None:
    sign_in(team, secret_of(sqlite_url, "write"))
    page = team.get(f"/executions/{ids['train1']}").text
    hidden = form_of(page)
    assert hidden is not None and well_formed(page)
    assert hidden["kind"] == "execution" and hidden["target"] == ids["train1"]
    sent = team.post(
        "/annotations",
        data={**hidden, "key": "verdict", "value": "dead-end", "note": "overfits"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/executions/{ids['train1']}#labels"
    assert history(sqlite_url, "execution", ids["train1"]) == [
        ("verdict", "dead-end", "overfits", "ui-write")
    ]
    shown = team.get(sent.headers["location"]).text
    assert "verdict = dead-end" in shown and "overfits" in shown


def test_an_artifact_label_can_be_set_and_cleared_and_hostile_text_stays_text(
    team: TestClient, sqlite_url: str, ids: dict[str, str]
) -> None:
    sign_in(team, secret_of(sqlite_url, "admin"))
    page = team.get("/artifacts/data/clean.csv").text
    hidden = form_of(page)
    assert hidden is not None and hidden["kind"] == "artifact"
    digest = hidden["target"]
    team.post("/annotations", data={**hidden, "key": "quality", "value": "bad", "note": HOSTILE})
    cleared = team.post("/annotations", data={**hidden, "key": "quality"})
    assert cleared.status_code == 200  # followed back to the artifact page
    assert [(k, v) for k, v, _, _ in history(sqlite_url, "artifact", digest)] == [
        ("quality", "bad"),
        ("quality", None),
    ]
    assert HOSTILE not in cleared.text and "&lt;script&gt;" in cleared.text
    assert "quality = bad" not in cleared.text  # the label is cleared, its history kept


def test_a_read_token_sees_no_form_and_its_post_is_refused_recording_nothing(
    team: TestClient, sqlite_url: str, ids: dict[str, str]
) -> None:
    sign_in(team, secret_of(sqlite_url, "read"))
    page = team.get(f"/executions/{ids['train1']}").text
    assert form_of(page) is None and "cmf annotate REF key=value" in page
    csrf = team.cookies["cmf_ui_csrf"]
    refused = team.post(
        "/annotations",
        data={"csrf": csrf, "kind": "execution", "target": ids["train1"], "key": "k", "value": "v"},
        follow_redirects=False,
    )
    assert refused.status_code == 403 and "write token" in refused.text
    assert history(sqlite_url, "execution", ids["train1"]) == []


def test_an_annotation_post_needs_the_csrf_value_a_same_origin_and_a_sign_in(
    team: TestClient, sqlite_url: str, ids: dict[str, str]
) -> None:
    signed_out = team.post(
        "/annotations", data={"kind": "execution", "target": ids["train1"]}, follow_redirects=False
    )
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/signin")
    sign_in(team, secret_of(sqlite_url, "write"))
    hidden = form_of(team.get(f"/executions/{ids['train1']}").text)
    assert hidden is not None
    stale = team.post("/annotations", data={**hidden, "csrf": "forged", "key": "k", "value": "v"})
    foreign = team.post(
        "/annotations",
        data={**hidden, "key": "k", "value": "v"},
        headers={"origin": "https://evil.example"},
    )
    assert stale.status_code == foreign.status_code == 403
    assert history(sqlite_url, "execution", ids["train1"]) == []


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"key": "not a key", "value": "v"}, "Cannot annotate with the key"),
        ({"key": "k", "value": "x" * 1_001}, "at most 1,000"),
        ({"key": "k", "target": "nosuchrun"}, "nosuchrun"),
        ({"key": "k", "kind": "pipeline"}, "names no execution or artifact"),
    ],
)
def test_a_bad_annotation_is_a_page_that_says_what_to_fix_and_records_nothing(
    team: TestClient, sqlite_url: str, ids: dict[str, str], fields: dict[str, str], says: str
) -> None:
    sign_in(team, secret_of(sqlite_url, "write"))
    hidden = form_of(team.get(f"/executions/{ids['train1']}").text)
    assert hidden is not None
    answer = team.post("/annotations", data={**hidden, **fields})
    assert 400 <= answer.status_code < 500 and "text/html" in answer.headers["content-type"]
    assert says in answer.text and "Traceback" not in answer.text
    assert history(sqlite_url, "execution", ids["train1"]) == []


def test_cmf_ui_reads_read_only_so_it_shows_no_form_and_refuses_a_post(
    sqlite_url: str, root: Path, ids: dict[str, str]
) -> None:
    with TestClient(create_ui_app(sqlite_url, root), base_url="http://127.0.0.1") as client:
        page = client.get(f"/executions/{ids['train1']}").text
        assert form_of(page) is None and "cmf annotate REF key=value" in page
        client.get("/")
        refused = client.post(
            "/annotations",
            data={
                "csrf": client.cookies["cmf_ui_csrf"], "kind": "execution",
                "target": ids["train1"], "key": "k", "value": "v",
            },
        )  # fmt: skip
    assert refused.status_code == 403 and "read-only" in refused.text
    assert history(sqlite_url, "execution", ids["train1"]) == []
