"""The web UI over plain HTTP (TestClient): every page, escaping, errors as pages, sign-in."""

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cmf_core import Cmf, Store, create_token
from cmf_mcp.http.app import create_app
from cmf_mcp.http.ui.layout import NODE_H, NODE_W, layered_layout
from cmf_mcp.http.ui.local import create_ui_app
from tests.ui_support import HOSTILE, record_pipeline

VOID = {"meta", "link", "input", "br", "img", "hr", "source", "col", "wbr", "area", "base"}


class Checker(HTMLParser):
    """Every element closed in order (SVG's self-closing elements included)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def well_formed(html: str) -> bool:
    checker = Checker()
    checker.feed(html)
    return not checker.errors and not checker.open and html.startswith("<!doctype html>")


@pytest.fixture
def ids(sqlite_url: str, root: Path) -> dict[str, str]:
    return record_pipeline(sqlite_url, root)


@pytest.fixture
def local(sqlite_url: str, root: Path, ids: dict[str, str]) -> Iterator[TestClient]:
    app = create_ui_app(sqlite_url, root)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def test_the_overview_shows_each_stage_as_a_flow_with_runs_and_last_status(
    local: TestClient, ids: dict[str, str]
) -> None:
    html = local.get("/").text
    assert well_formed(html)
    assert "fraud" in html and "<svg" in html
    assert re.search(r"train</a></td>\s*<td>3</td>", html)
    assert html.count('marker-end="url(#arrow)"') == 2  # prepare → train → evaluate
    assert f"/executions/{ids['evaluate']}" in html


def test_the_overview_counts_every_run_of_a_stage(sqlite_url: str, root: Path) -> None:
    from cmf_core import Cmf

    with Cmf(pipeline="sweep", store=sqlite_url, capture_git=False) as cmf:
        for i in range(150):  # past the 100 the overview used to stop counting at
            with cmf.execution("trial", params={"i": i}):
                pass
    with TestClient(create_ui_app(sqlite_url, root), base_url="http://127.0.0.1") as client:
        html = client.get("/").text
    assert re.search(r"trial</a></td>\s*<td>150</td>", html)
    assert "150 runs" in html


def test_the_executions_table_filters_sorts_pages_and_shows_chosen_columns(
    local: TestClient, ids: dict[str, str]
) -> None:
    query = {"pipeline": "fraud", "stage": "train", "params": "lr", "metrics": "accuracy"}
    html = local.get("/executions", params={**query, "sort": "-params.lr"}).text
    assert well_formed(html)
    assert "params.lr" in html and "metrics.accuracy" in html
    order = [html.index(ids[f"train{n}"]) for n in (2, 1, 0)]
    assert order == sorted(order)  # lr descending
    assert "0.83" in html  # accuracy of lr 0.3
    filtered = local.get("/executions", params={**query, "filter": "params.lr > 0.15"}).text
    assert ids["train0"] not in filtered and ids["train2"] in filtered
    first = local.get("/executions", params={**query, "limit": 2, "sort": "started_at"}).text
    assert ids["train0"] in first and ids["train2"] not in first
    next_link = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_link
    second = local.get(next_link.group(1).replace("&amp;", "&")).text
    assert ids["train2"] in second and ids["train0"] not in second
    assert "First page" in second


def test_a_bad_filter_is_an_error_page_with_the_problem_and_no_traceback(
    local: TestClient,
) -> None:
    response = local.get("/executions", params={"filter": "params.lr >>> 1"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "400" in response.text and "Traceback" not in response.text
    assert well_formed(response.text)


def test_the_execution_page_has_params_metrics_charts_links_and_recipe(
    local: TestClient, ids: dict[str, str]
) -> None:
    html = local.get(f"/executions/{ids['train1']}").text
    assert well_formed(html)
    assert "lr" in html and "0.2" in html and "accuracy" in html
    assert "<polyline" in html and "loss" in html  # the step-metric chart
    assert f"/executions/{ids['prepare']}" in html  # the producer of its input
    assert f"/executions/{ids['evaluate']}" not in html  # evaluate read model2, not model1
    assert "Reproduce" in html and "cmf reproduce" in html
    evaluate = local.get(f"/executions/{ids['evaluate']}").text
    assert f"/executions/{ids['train2']}" in evaluate


def test_the_artifact_page_lists_digest_paths_producers_consumers_and_bytes(
    local: TestClient, ids: dict[str, str]
) -> None:
    response = local.get("/artifacts/data/clean.csv")
    html = response.text
    assert response.status_code == 200 and well_formed(html)
    assert "md5:" in html and "data/clean.csv" in html
    assert f"/executions/{ids['prepare']}" in html
    assert all(f"/executions/{ids[f'train{n}']}" in html for n in range(3))
    assert "workspace" in html and "cache" in html


def test_the_artifact_page_asks_folder_remotes_and_offers_to_ask_network_ones(
    sqlite_url: str, local: TestClient, root: Path, tmp_path: Path
) -> None:
    from cmf_core.artifacts.cache import Cache
    from cmf_core.artifacts.push import push_artifacts
    from cmf_core.artifacts.remote_store import RemoteStore
    from cmf_core.artifacts.remotes import add_remote

    shelf = add_remote(root, "shelf", str(tmp_path / "shelf"), default=True)
    add_remote(root, "far", "s3://cmf-bucket/objects")
    before = local.get("/artifacts/data/clean.csv").text
    assert re.search(r"remote shelf</th><td>absent", before)
    assert "Not asked: remote far" in before and 'href="?remotes=all"' in before
    with Store(sqlite_url) as store:
        push_artifacts(store, Cache.for_project(root), RemoteStore(shelf))
    after = local.get("/artifacts/data/clean.csv").text
    assert re.search(r"remote shelf</th><td>present", after) and well_formed(after)


def test_a_browser_asking_for_a_url_without_a_page_gets_a_page_and_an_api_client_a_problem(
    local: TestClient,
) -> None:
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    missing = local.get("/no/such/page", headers=browser)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "There is no page here." in missing.text and well_formed(missing.text)
    api = local.get("/api/v1/no-such-endpoint", headers=browser)
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    plain = local.get("/no/such/page")
    assert plain.status_code == 404 and plain.headers["content-type"] == "application/problem+json"


def test_an_execution_reference_on_the_artifact_page_redirects_to_it(
    local: TestClient, ids: dict[str, str]
) -> None:
    response = local.get(f"/artifacts/{ids['train0']}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/executions/{ids['train0']}"


def test_search_goes_to_the_named_thing_or_lists_matching_paths(
    local: TestClient, ids: dict[str, str]
) -> None:
    assert (
        local.get(f"/search?q={ids['evaluate'][:13]}").url.path == f"/executions/{ids['evaluate']}"
    )
    assert local.get("/search?q=model1.pkl").url.path.startswith("/artifacts/md5:")
    html = local.get("/search?q=model").text
    assert "model0.pkl" in html and "model2.pkl" in html
    assert "/executions?pipeline=fraud" in local.get("/search?q=fra").text


def test_the_lineage_page_draws_nodes_that_link_to_their_pages_and_a_path(
    local: TestClient, ids: dict[str, str]
) -> None:
    html = local.get("/lineage", params={"node": "report.json", "depth": 4}).text
    assert well_formed(html)
    assert f'href="/executions/{ids["evaluate"]}"' in html
    assert f'href="/executions/{ids["train2"]}"' in html
    assert 'class="node artifact start"' in html
    shallow = local.get("/lineage", params={"node": "report.json", "depth": 1}).text
    assert ids["train2"] not in shallow and "cut at the depth" in shallow
    path = local.get(
        "/lineage",
        params={"node": "report.json", "depth": 6, "from": ids["prepare"], "to": ids["evaluate"]},
    ).text
    assert "path highlighted" in path
    marked = re.findall(r'class="node (?:artifact|execution)[^"]*on-path" data-key="([^"]+)"', path)
    assert ids["prepare"] in marked and ids["train2"] in marked and ids["train0"] not in marked
    whole = local.get("/lineage", params={"pipeline": "fraud"}).text
    assert all(ids[name] in whole for name in ids)
    boxes = [
        (float(x), float(y))
        for x, y in re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="170"', whole)
    ]
    assert len(boxes) == 11  # 5 executions; raw, clean, 3 models and the report
    assert not any(
        abs(a[0] - b[0]) < NODE_W and abs(a[1] - b[1]) < NODE_H
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
    )


def test_the_metrics_dashboard_overlays_step_curves_and_marks_the_best_run(
    local: TestClient, ids: dict[str, str]
) -> None:
    html = local.get(
        "/metrics", params={"pipeline": "fraud", "stage": "train", "name": "loss"}
    ).text
    assert well_formed(html)
    assert html.count("<polyline") >= 4  # three curves overlaid and the across-runs line
    best = re.search(r'<tr class="best"><td><a href="/executions/([^"]+)"', html)
    assert best and best.group(1) == ids["train0"]  # the lowest loss
    accuracy = local.get(
        "/metrics", params={"pipeline": "fraud", "stage": "train", "name": "accuracy"}
    ).text
    assert re.search(rf'<tr class="best"><td><a href="/executions/{ids["train2"]}"', accuracy)


def test_user_input_is_escaped_everywhere(sqlite_url: str, root: Path) -> None:
    name = f"p{HOSTILE}"
    (root / "x").mkdir()
    hostile_path = root / "x" / "a&b<c>.csv"
    hostile_path.write_text("1")
    cmf = Cmf(pipeline=name, store=sqlite_url, capture_git=False, capture_environment=False)
    with cmf, cmf.execution(f"s{HOSTILE}", params={HOSTILE: HOSTILE}) as run:
        run.log_dataset("x/a&b<c>.csv", event="output")
        run.log_metrics({HOSTILE: 1.0})
    with TestClient(create_ui_app(sqlite_url, root), base_url="http://127.0.0.1") as client:
        digest = client.get("/search", params={"q": "a&b<c>.csv"}).url.path.rsplit("/", 1)[1]
        pages = [
            "/",
            f"/executions?params={HOSTILE}&metrics={HOSTILE}",
            f"/executions/{run.id}",
            f"/artifacts/{digest}",
            f"/lineage?pipeline={name}",
            f"/lineage?node={run.id}&direction=both",
            f"/search?q={HOSTILE}",
            f"/executions/{HOSTILE}",
        ]
        for url in pages:
            response = client.get(url, params=None)
            assert "<script>alert" not in response.text, url
            assert "a&b<c>" not in response.text, url
            if response.headers["content-type"].startswith("text/html"):
                csp = response.headers["content-security-policy"]
                assert csp.startswith("default-src 'none'"), url
        assert "&lt;script&gt;" in client.get(f"/executions/{run.id}").text


def test_the_local_ui_answers_only_to_the_loopback_host(local: TestClient) -> None:
    assert local.get("/", headers={"host": "evil.example"}).status_code == 400
    assert local.get("/api/v1/pipelines").status_code == 404  # the UI alone


def test_the_local_ui_never_writes_a_store(tmp_path: Path, root: Path) -> None:
    missing = tmp_path / "none" / "metadata.db"
    app = create_ui_app(f"sqlite:///{missing}", root)
    with pytest.raises(Exception, match="store|database|exist"), TestClient(app):
        pass
    assert not missing.exists() and not missing.parent.exists()


# -- the team server: tokens ----------------------------------------------------------------


@pytest.fixture
def team(sqlite_url: str, root: Path, ids: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_url, project_root=root, mcp=False)) as client:
        yield client


def secret_of(store_url: str, scope: str = "read") -> str:
    with Store(store_url) as store:
        return create_token(store, f"ui-{scope}", scope)[1]


def sign_in(client: TestClient, secret: str, next: str = "/") -> "object":
    form = client.get(f"/signin?next={next}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    return client.post(
        "/signin",
        data={"token": secret, "csrf": csrf.group(1), "next": next},
        follow_redirects=False,
    )


def test_a_team_server_page_without_a_token_sends_to_sign_in(team: TestClient) -> None:
    response = team.get("/executions?stage=train", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fexecutions%3Fstage%3Dtrain"
    assert team.get("/api/v1/pipelines").status_code == 401  # the API is still JSON, tokens


def test_signing_in_keeps_the_token_in_a_strict_httponly_cookie(
    team: TestClient, sqlite_url: str
) -> None:
    response = sign_in(team, secret_of(sqlite_url), next="/executions")
    assert response.status_code == 303 and response.headers["location"] == "/executions"  # type: ignore[attr-defined]
    cookie = next(
        c
        for c in response.headers.get_list("set-cookie")
        if c.startswith("cmf_ui_token=")  # type: ignore[attr-defined]
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert team.get("/").status_code == 200 and "fraud" in team.get("/").text


def test_a_bad_token_is_refused_on_the_sign_in_page(team: TestClient) -> None:
    response = sign_in(team, "cmf_nosuchtoken")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "cmf_nosuchtoken" not in response.text  # type: ignore[attr-defined]
    assert team.get("/", follow_redirects=False).status_code == 303


def test_a_revoked_token_stops_the_ui_at_once(team: TestClient, sqlite_url: str) -> None:
    sign_in(team, secret_of(sqlite_url))
    assert team.get("/", follow_redirects=False).status_code == 200
    with Store(sqlite_url) as store:
        store.revoke_token("ui-read")
    assert team.get("/", follow_redirects=False).status_code == 303


def test_posts_need_the_csrf_value_and_a_same_origin(team: TestClient, sqlite_url: str) -> None:
    secret = secret_of(sqlite_url)
    team.get("/signin")
    no_csrf = team.post("/signin", data={"token": secret}, follow_redirects=False)
    assert no_csrf.status_code == 403 and "text/html" in no_csrf.headers["content-type"]
    csrf = team.cookies["cmf_ui_csrf"]
    foreign = team.post(
        "/signin",
        data={"token": secret, "csrf": csrf},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    assert sign_in(team, secret).status_code == 303  # type: ignore[attr-defined]
    signed_out = team.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert team.get("/", follow_redirects=False).status_code == 303


def test_sign_in_sends_back_only_to_a_page_of_this_server(
    team: TestClient, sqlite_url: str
) -> None:
    response = sign_in(team, secret_of(sqlite_url), next="//evil.example/x")
    assert response.headers["location"] == "/"  # type: ignore[attr-defined]


def test_the_ui_can_be_left_out_of_the_team_server(sqlite_url: str, root: Path) -> None:
    with TestClient(create_app(sqlite_url, project_root=root, mcp=False, ui=False)) as client:
        assert client.get("/", follow_redirects=False).status_code == 404


# -- the layout ---------------------------------------------------------------------------


def overlapping(places: dict[object, object]) -> list[tuple[object, object]]:
    boxes = sorted((p.x, p.y, key) for key, p in places.items())  # type: ignore[attr-defined]
    clashes = []
    for i, (x, y, a) in enumerate(boxes):
        for x2, y2, b in boxes[i + 1 :]:
            if x2 >= x + NODE_W:
                break
            if abs(y2 - y) < NODE_H:
                clashes.append((a, b))
    return clashes


def layered_graph(n: int) -> tuple[list[str], list[tuple[str, str]]]:
    """n nodes in alternating artifact/execution layers, each reading two of the layer before."""
    nodes = [f"n{i}" for i in range(n)]
    width = 25
    edges = [
        (nodes[i - width - j], nodes[i])
        for i in range(width, n)
        for j in (0, 3)
        if i - width - j >= 0
    ]
    return nodes, edges


def test_the_layout_places_no_two_nodes_on_top_of_each_other_at_500_nodes() -> None:
    nodes, edges = layered_graph(500)
    layout = layered_layout(nodes, edges)
    assert len(layout.places) == 500 and overlapping(layout.places) == []  # type: ignore[arg-type]
    assert all(layout.places[s].x < layout.places[t].x for s, t in edges)


def test_the_layout_survives_a_cycle_in_corrupt_data() -> None:
    layout = layered_layout(["a", "b", "c"], [("a", "b"), ("b", "a"), ("b", "c")])
    assert overlapping(layout.places) == []  # type: ignore[arg-type]
    assert layout.places["c"].x > layout.places["a"].x


def test_the_cmf_ui_command_is_registered() -> None:
    from click.testing import CliRunner

    from cmf_mcp.cli.main import cli

    result = CliRunner().invoke(cli, ["ui", "--help"])
    assert result.exit_code == 0 and "127.0.0.1" in result.output


def test_the_compare_page_shows_runs_side_by_side_with_differences_marked(
    local: TestClient, ids: dict[str, str]
) -> None:
    table = local.get("/executions", params={"pipeline": "fraud", "stage": "train"}).text
    assert f'name="ids" value="{ids["train0"]}"' in table  # the checkboxes that choose
    html = local.get("/compare", params={"ids": [ids["train0"], ids["train2"]]}).text
    assert well_formed(html)
    assert re.search(r'<tr class="changed"><th scope="row">lr</th><td>0.1</td><td>0.3</td>', html)
    assert re.search(r'<tr class="same"><th scope="row">epochs</th>', html)
    assert "(+0.02)" in html  # accuracy's delta from the baseline
    assert html.count("<polyline") == 2  # both loss curves on one chart
    one = local.get("/compare", params={"ids": [ids["train0"]]})
    assert one.status_code == 400 and "2 to" in one.text


def test_unforeseen_errors_and_bad_values_are_pages_without_a_traceback(
    local: TestClient,
) -> None:
    bad = local.get("/lineage", params={"node": "report.json", "depth": "deep"})
    assert (
        bad.status_code == 422
        and "depth" in bad.text
        and "text/html" in bad.headers["content-type"]
    )
    neither = local.get("/lineage")
    assert neither.status_code == 400 and "Name a node" in neither.text
    assert local.get("/ui/static/nothing.js").status_code == 404
    assert local.get("/ui/static/ui.js").headers["content-type"].startswith("text/javascript")
    local.app.state.store.close()  # type: ignore[attr-defined]
    local.app.state.store = None  # type: ignore[attr-defined]
    broken = local.get("/")
    assert broken.status_code == 500 and "has been logged" in broken.text
    assert "Traceback" not in broken.text and "AttributeError" not in broken.text


def test_cmf_ui_bound_beyond_the_loopback_needs_a_token(
    sqlite_url: str, root: Path, ids: dict[str, str]
) -> None:
    from cmf_mcp.http.ui.local import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    with TestClient(create_ui_app(sqlite_url, root, host="0.0.0.0")) as client:
        assert client.get("/", follow_redirects=False).status_code == 303


def test_cmf_ui_serves_the_local_store_on_the_loopback_until_stopped(
    sqlite_url: str, root: Path, ids: dict[str, str]
) -> None:
    import subprocess
    import sys

    import httpx

    from tests.server_support import free_port

    port = free_port()
    cmf = Path(sys.executable).parent / "cmf"
    process = subprocess.Popen(
        [str(cmf), "--store", sqlite_url, "ui", "--port", str(port)],
        cwd=root,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        assert f"http://127.0.0.1:{port}/" in banner and "read-only" in banner
        for _ in range(500):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.ConnectError:
                threading_wait(0.02)
        assert response.status_code == 200 and "fraud" in response.text
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()  # type: ignore[union-attr]


def threading_wait(seconds: float) -> None:
    import threading

    threading.Event().wait(seconds)


def test_charts_break_lines_at_nan_and_widen_a_flat_range() -> None:
    from cmf_mcp.http.ui.charts import Series, line_chart

    nan = float("nan")
    chart = line_chart("loss", [Series("a", [0, 1, 2, 3], [1.0, nan, 1.0, 1.0])])
    assert [len(s.split()) for s in chart.lines[0].segments] == [1, 2]  # a gap at the NaN
    assert chart.y_ticks[0][1] != chart.y_ticks[-1][1]  # a flat series still has a range
    assert line_chart("none", [Series("a", [0], [nan])]).empty
    single = line_chart("one", [Series("a", [5], [0.0])])
    assert not single.empty and single.x_ticks[0][1] == "4"


@pytest.mark.postgres
def test_the_pages_read_a_postgresql_store(postgres_url: str, root: Path) -> None:
    ids = record_pipeline(postgres_url, root)
    with TestClient(create_ui_app(postgres_url, root), base_url="http://127.0.0.1") as client:
        assert "fraud" in client.get("/").text
        query = {
            "pipeline": "fraud",
            "params": "lr",
            "metrics": "accuracy",
            "sort": "-metrics.accuracy",
        }
        html = client.get("/executions", params=query).text
        assert html.index(ids["train2"]) < html.index(ids["train0"])
        dashboard = client.get("/metrics", params={"pipeline": "fraud", "stage": "train"}).text
        assert "★ best" in dashboard
        assert ids["prepare"] in client.get("/lineage", params={"node": "report.json"}).text


def test_an_edge_that_spans_layers_runs_through_waypoints_beside_the_nodes() -> None:
    layout = layered_layout(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")])
    waypoints = layout.routes[("a", "d")]
    assert [w.layer for w in waypoints] == [1, 2]
    cells = {(p.layer, p.row) for p in layout.places.values()}
    assert not cells & {(w.layer, w.row) for w in waypoints}
    assert ("a", "b") not in layout.routes
