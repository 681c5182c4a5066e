"""The web UI in a real headless Chromium (Debian's, driven by Playwright) over a real port."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmf_mcp.http.app import create_app
from cmf_mcp.http.ui.local import create_ui_app
from tests.server_support import make_tokens, serving
from tests.ui_support import record_pipeline

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def test_clicking_from_the_final_report_through_the_graph_to_the_raw_data(
    browser: Any, sqlite_url: str, root: Path, tmp_path: Path
) -> None:
    ids = record_pipeline(sqlite_url, root)
    shots = tmp_path / "screenshots"
    with serving(create_ui_app(sqlite_url, root)) as base:
        page = browser.new_page(viewport={"width": 1366, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/")
        page.screenshot(path=shots / "overview.png")
        page.get_by_role("link", name="evaluate").first.click()
        page.locator(f'a[href="/executions/{ids["evaluate"]}"]').click()
        assert page.get_by_role("heading", level=1).inner_text().startswith("fraud / evaluate")
        page.get_by_role("link", name="lineage graph").click()
        page.screenshot(path=shots / "lineage.png")
        assert page.locator("#graph").get_attribute("class") == "graph zoomable"  # the JS ran
        page.locator(f'a.node[data-key="{ids["prepare"]}"]').click()
        assert page.url.endswith(f"/executions/{ids['prepare']}")
        page.get_by_role("link", name="data/raw.csv").click()
        assert "/artifacts/md5:" in page.url
        assert "nothing recorded (raw input)" in page.content()
        page.screenshot(path=shots / "artifact.png", full_page=True)
        assert errors == []
    assert len(list(shots.glob("*.png"))) == 3


def test_the_graph_zooms_pans_and_highlights_a_path_picked_by_clicking(
    browser: Any, sqlite_url: str, root: Path
) -> None:
    ids = record_pipeline(sqlite_url, root)
    with serving(create_ui_app(sqlite_url, root)) as base:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(base + "/lineage?pipeline=fraud")
        svg = page.locator("#lineage")
        before = svg.get_attribute("viewBox")
        svg.hover()
        page.mouse.wheel(0, -300)
        zoomed = svg.get_attribute("viewBox")
        assert zoomed != before
        box = svg.bounding_box()
        page.mouse.move(box["x"] + 50, box["y"] + 50)
        page.mouse.down()
        page.mouse.move(box["x"] + 150, box["y"] + 120, steps=5)
        page.mouse.up()
        assert svg.get_attribute("viewBox") != zoomed
        page.goto(base + "/lineage?pipeline=fraud")
        page.locator("#pick-path").check()
        page.locator(f'a.node[data-key="{ids["prepare"]}"]').click()
        with page.expect_navigation():
            page.locator(f'a.node[data-key="{ids["evaluate"]}"]').click()
        assert "path highlighted" in page.content()
        assert (
            page.locator("a.node.on-path").count() >= 5
        )  # prepare, clean, train2, model2, evaluate
        assert page.locator(f'a.node.on-path[data-key="{ids["train0"]}"]').count() == 0


def test_the_pages_work_without_javascript(browser: Any, sqlite_url: str, root: Path) -> None:
    ids = record_pipeline(sqlite_url, root)
    with serving(create_ui_app(sqlite_url, root)) as base:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(base + "/executions?pipeline=fraud&stage=train")
        page.get_by_label("params", exact=True).fill("lr")
        page.get_by_role("button", name="Show").click()
        page.get_by_role("link", name="params.lr").click()
        rows = page.locator("table.runs tbody tr")
        assert rows.count() == 3 and ids["train2"][:12] in rows.first.inner_text()
        page.get_by_label("Search").fill("model1.pkl")
        page.get_by_label("Search").press("Enter")
        assert "/artifacts/md5:" in page.url
        context.close()


def test_signing_in_to_the_team_server_with_a_pasted_token(
    browser: Any, sqlite_url: str, root: Path
) -> None:
    record_pipeline(sqlite_url, root)
    secret = make_tokens(sqlite_url, "reader", scope="read")["reader"]
    with serving(create_app(sqlite_url, project_root=root, mcp=False)) as base:
        context = browser.new_context()
        page = context.new_page()
        page.goto(base + "/metrics?pipeline=fraud&stage=train")
        assert "/signin" in page.url
        page.get_by_label("Token").fill(secret)
        page.get_by_role("button", name="Sign in").click()
        assert page.url.endswith("/metrics?pipeline=fraud&stage=train")
        assert "★ best" in page.content()
        cookie = next(c for c in context.cookies() if c["name"] == "cmf_ui_token")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie").find(secret) == -1
        page.get_by_role("button", name="Sign out").click()
        assert "/signin" in page.url
        context.close()


def test_every_page_of_the_example_pipeline_and_from_its_model_to_the_raw_data(
    browser: Any, tmp_path: Path
) -> None:
    import subprocess
    import sys

    example = Path(__file__).resolve().parents[1] / "examples" / "get_started" / "run.py"
    workdir = tmp_path / "get_started"
    subprocess.run(
        [sys.executable, str(example), str(workdir)], check=True, capture_output=True, timeout=300
    )
    url = f"sqlite:///{workdir / '.cmf' / 'metadata.db'}"
    shots = tmp_path / "screenshots"
    with serving(create_ui_app(url, workdir)) as base:
        page = browser.new_page(viewport={"width": 1366, "height": 800})
        for path in (
            "/",
            "/executions?pipeline=fraud-detection",
            "/metrics?pipeline=fraud-detection&stage=train",
            "/lineage?pipeline=fraud-detection",
        ):
            response = page.goto(base + path)
            assert response.status == 200, path
        page.goto(base + "/executions?pipeline=fraud-detection&stage=train")
        page.locator("table.runs tbody a").first.click()
        assert page.locator("svg polyline").count() >= 1  # the loss curve
        page.screenshot(path=shots / "train.png", full_page=True)
        page.get_by_role("link", name="models/model.json").first.click()
        page.get_by_role("link", name="lineage (upstream)").click()
        page.screenshot(path=shots / "model-lineage.png")
        assert page.locator("a.node").count() >= 7
        page.locator("a.node.artifact", has_text="transactions.csv").click()
        assert "data/raw/transactions.csv" in page.content()
        assert "nothing recorded (raw input)" in page.content()
    assert len(list(shots.glob("*.png"))) == 2


def test_the_keyboard_reaches_graph_nodes_and_the_theme_follows_the_system(
    browser: Any, sqlite_url: str, root: Path
) -> None:
    ids = record_pipeline(sqlite_url, root)
    with serving(create_ui_app(sqlite_url, root)) as base:
        page = browser.new_page()
        page.goto(base + f"/lineage?node={ids['evaluate']}&direction=both")
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.classList.contains('node')"):
                break
        key = page.evaluate("document.activeElement.dataset.key")
        assert key in set(ids.values()) or key.startswith("md5:")
        with page.expect_navigation(timeout=5000):
            page.keyboard.press("Enter")
        assert "/executions/" in page.url or "/artifacts/" in page.url
        background = "getComputedStyle(document.body).backgroundColor"
        page.emulate_media(color_scheme="light")
        assert page.evaluate(background) == "rgb(255, 255, 255)"
        page.emulate_media(color_scheme="dark")
        assert page.evaluate(background) == "rgb(13, 17, 23)"
