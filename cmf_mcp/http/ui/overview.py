"""The pipelines overview: each pipeline's stages as a flow, every run counted, the last run.

The flow joins stage A to stage B when the latest run of B read an artifact the
latest run of A wrote (the same digest): one newest run per stage and one read of
the latest runs' events per pipeline; the counts are one grouped read for all.
"""

from dataclasses import dataclass

from cmf_core.records import Execution
from cmf_core.store import Store
from cmf_mcp.http.ui.layout import curve, layered_layout


@dataclass(frozen=True)
class StageRow:
    name: str
    runs: int
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
    counts = store.execution_counts()  # every run of every stage, one grouped read
    for pipeline in store.list_pipelines():
        names = [s.name for s in store.list_stages(pipeline=pipeline.name)]
        newest = {n: store.list_executions(pipeline=pipeline.name, stage=n, limit=1) for n in names}
        latest = {n: runs[0] for n, runs in newest.items() if runs}
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
                runs=counts.get((pipeline.name, n), 0),
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
        last = max(latest.values(), key=lambda e: e.started_at, default=None)
        rows.append(PipelineRow(pipeline.name, stages, arrows, layout.width, layout.height, last))
    return rows


__all__ = ["PipelineRow", "StageRow", "pipelines_overview"]
