"""How long the web UI takes to draw: the layered layout, and whole pages as a browser gets them.

1. ``layout_500`` — :func:`cmf_mcp.http.ui.layout.layered_layout` alone on a generated
   500-node layered graph (25 nodes a layer, each reading two of the layer before).
2. ``lineage_page_500`` — ``GET /lineage?pipeline=…`` of the UI (``cmf ui``'s app, through
   httpx's ASGI transport, in process) on a store whose pipeline graph has 500 nodes:
   the walk, the layout, the SVG and the HTML. **Target: median ≤ 300 ms.**
3. ``executions_page_50`` — ``GET /executions?pipeline=synth-03&params=lr&metrics=accuracy``
   (50 rows, two chosen columns) on the 100k-execution synthetic store of
   ``bench/synthetic.py`` when ``--executions`` is given (generated once into
   ``bench/data/``). **Target: median ≤ 100 ms.**
4. ``grandalf_500`` — grandalf's Sugiyama layout on the same 500 nodes, when grandalf is
   installed (a baseline for 1; not a dependency).

Each figure: median, p90 and min of ``--repeats`` runs after one warm-up, in ms. Prints JSON.

    python bench/bench_ui.py [--repeats 15] [--executions 100000]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine
from cmf_core.tracking import Cmf
from cmf_mcp.http.ui.layout import layered_layout

WIDTH = 25


def timed(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    call()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    return {
        "median_ms": round(statistics.median(runs), 2),
        "p90_ms": round(runs[int(len(runs) * 0.9) - 1 if len(runs) > 1 else 0], 2),
        "min_ms": round(runs[0], 2),
    }


def layered_graph(n: int) -> tuple[list[str], list[tuple[str, str]]]:
    nodes = [f"n{i}" for i in range(n)]
    edges = [
        (nodes[i - WIDTH - j], nodes[i])
        for i in range(WIDTH, n)
        for j in (0, 3)
        if i - WIDTH - j >= 0
    ]
    return nodes, edges


def grandalf_layout(nodes: list[str], edges: list[tuple[str, str]]) -> None:
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    class Box:
        w, h = 170, 34

    vertices = {n: Vertex(n) for n in nodes}
    for v in vertices.values():
        v.view = Box()
    graph = Graph(list(vertices.values()), [Edge(vertices[a], vertices[b]) for a, b in edges])
    for component in graph.C:
        layout = SugiyamaLayout(component)
        layout.init_all()
        layout.draw(2)


def record_500(root: Path, url: str) -> None:
    """250 executions, each writing one file and reading two earlier ones: 500 nodes."""
    (root / "d").mkdir(parents=True)
    with Cmf(pipeline="wide", store=url, capture_git=False, capture_environment=False) as cmf:
        for i in range(250):
            with cmf.execution(f"s{i % 10}") as run:
                for j in (i - 10, i - 13):
                    if j >= 0:
                        run.log_dataset(f"d/{j}.csv")
                (root / "d" / f"{i}.csv").write_text(str(i))
                run.log_dataset(f"d/{i}.csv", event="output")


def page_timer(url: str, root: Path, path: str) -> Callable[[], Any]:
    from fastapi.testclient import TestClient

    from cmf_mcp.http.ui.local import create_ui_app

    client = TestClient(create_ui_app(url, root), base_url="http://127.0.0.1")
    client.__enter__()

    def get() -> None:
        response = client.get(path)
        assert response.status_code == 200, response.text[:500]

    return get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--executions", type=int, default=0, help="also the table on N runs")
    args = parser.parse_args()
    nodes, edges = layered_graph(500)
    result: dict[str, Any] = {"machine": machine(), "repeats": args.repeats}
    result["layout_500"] = timed(lambda: layered_layout(nodes, edges), args.repeats)
    try:
        import grandalf  # noqa: F401
    except ImportError:
        pass
    else:
        result["grandalf_500"] = timed(lambda: grandalf_layout(nodes, edges), args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".cmf").mkdir()
        url = f"sqlite:///{root / 'store.db'}"
        here = os.getcwd()
        os.chdir(root)  # the project whose paths are recorded
        try:
            record_500(root, url)
        finally:
            os.chdir(here)
        get = page_timer(url, root, "/lineage?pipeline=wide")
        result["lineage_page_500"] = {"target_ms": 300, **timed(get, args.repeats)}
    if args.executions:
        from bench import synthetic

        store = synthetic.ensure(executions=args.executions)
        path = "/executions?pipeline=synth-03&params=lr&metrics=accuracy&limit=50"
        get = page_timer(store.url, Path(tempfile.gettempdir()), path)
        result[f"executions_page_50_of_{args.executions}"] = {
            "target_ms": 100,
            **timed(get, args.repeats),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
