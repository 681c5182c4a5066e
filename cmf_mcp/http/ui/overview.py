"""The pipelines overview: each pipeline's stages as a flow, with runs counted and the last run.

The flow joins stage A to stage B when the latest run of B read an artifact the
latest run of A wrote (the same digest): one search per stage and one read of
the latest runs' events per pipeline.
"""

from dataclasses import dataclass

from cmf_core.records import Execution
from cmf_core.search.search import search_executions
from cmf_core.store import Store
from cmf_mcp.http.ui.layout import curve, layered_layout

COUNT_UP_TO = 100  # a stage with more shows "100+": counting 100k runs is no glance


@dataclass(frozen=True)
class StageRow:
    name: str
    runs: int
    has_more: bool  # more than ``runs`` runs
    last: Execution | None
    x: float
    y: float


@dataclass(frozen=True)
class PipelineRow:
    name: str
    stages: list[StageRow]
    arrows: list[str]  # SVG path d= of each stage → stage arrow
    width: float
    height: float
    last: Execution | None


def pipelines_overview(store: Store) -> list[PipelineRow]:
    rows = []
    for pipeline in store.list_pipelines():
        names = [s.name for s in store.list_stages(pipeline=pipeline.name)]
        found = {}
        for name in names:
            page = search_executions(store, pipeline=pipeline.name, stage=name, limit=COUNT_UP_TO)
            found[name] = page
        latest = {n: p.items[0] for n, p in found.items() if p.items}
        events = store.events_of_executions([run.id for run in latest.values()])
        wrote = {
            n: {e.artifact.digest for e in events[run.id] if e.direction == "output"}
            for n, run in latest.items()
        }
        read = {
            n: {e.artifact.digest for e in events[run.id] if e.direction == "input"}
            for n, run in latest.items()
        }
        flow = [(a, b) for a in wrote for b in read if a != b and wrote[a] & read[b]]
        layout = layered_layout(names, flow)
        stages = [
            StageRow(
                name=n,
                runs=len(found[n].items),
                has_more=found[n].has_more,
                last=latest.get(n),
                x=layout.places[n].x,
                y=layout.places[n].y,
            )
            for n in names
        ]
        arrows = [
            curve(layout.places[a], layout.places[b], layout.routes.get((a, b), []))
            for a, b in flow
        ]
        newest = max(latest.values(), key=lambda e: e.started_at, default=None)
        rows.append(PipelineRow(pipeline.name, stages, arrows, layout.width, layout.height, newest))
    return rows


__all__ = ["PipelineRow", "StageRow", "pipelines_overview"]
