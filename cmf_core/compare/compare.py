"""Compare executions: what differs between two or more runs, and where their lineage parts.

::

    comparison = compare_runs(store, ["0193a1b2", "0193a1c4"])
    comparison.summary
    # ['accuracy fell 0.93 → 0.88 (−5.4 %)',
    #  'train inputs differ: data/features md5:aa12bc34… vs md5:bb56de78…, produced by
    #   featurize runs 0193a0f1 and 0193a0f9 whose params differ in scale',
    #  'lr changed 0.01 → 0.1', 'input data/labels.csv changed (md5:…)', 'numpy 1.26.4 → 2.0.2']

The record and its change rules are :mod:`cmf_core.compare.records`; where the
runs' upstream lineage parts is found by the lock-step walk in
:mod:`cmf_core.compare.divergence`; the sentences of ``summary`` (and their
order) are written by :mod:`cmf_core.compare.text`. This module reads the runs
and assembles the record.
"""

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from cmf_core.compare.divergence import Found, Walk, moved_groups
from cmf_core.compare.records import (
    CodeDiff,
    Comparison,
    Divergence,
    EnvironmentDiff,
    MetricDiff,
    PackageDiff,
    ParamDiff,
    PathDiff,
    RunRef,
    SeriesDiff,
    SeriesSummary,
    change_of,
)
from cmf_core.compare.text import describe_divergence, summarize
from cmf_core.errors import InvalidInputError
from cmf_core.records import EventDetail, EventDirection, Execution

if TYPE_CHECKING:
    from cmf_core.store import Store
    from cmf_core.store.metric_reads import SeriesStats

MAX_RUNS = 20


def compare_runs(store: "Store", ids: Sequence[str]) -> Comparison:
    """Compare two or more executions (ids or unique prefixes); the first is the baseline."""
    if isinstance(ids, str) or len(ids) < 2 or len(ids) > MAX_RUNS:
        raise InvalidInputError(
            f"Compare needs 2 to {MAX_RUNS} executions (ids or unique prefixes), "
            f"got {1 if isinstance(ids, str) else len(ids)}."
        )
    runs = store.get_executions(list(ids))
    seen = [r.id for r in runs]
    if len(set(seen)) != len(seen):
        twice = sorted({i for i in seen if seen.count(i) > 1})
        raise InvalidInputError(f"Execution {', '.join(twice)} is named twice; name each once.")
    events = store.get_events(seen)
    finals = store.final_metrics(seen)
    stats = store.series_stats(seen)
    environments = store.get_artifacts(r.environment_digest for r in runs if r.environment_digest)
    walk = Walk(store, runs, events)
    found = walk.run()
    labels = _labels([*seen, *walk.producer_ids()])
    refs = [_ref(r, labels) for r in runs]
    comparison = Comparison(
        executions=refs,
        params=_params(runs),
        metrics=_metrics(runs, finals),
        series=_series(runs, stats),
        inputs=_paths(runs, events, EventDirection.INPUT),
        outputs=_paths(runs, events, EventDirection.OUTPUT),
        code=_code(runs),
        environment=_environment(runs, {d: a.properties for d, a in environments.items()}),
        divergence=[
            _divergence(item, labels, describe_divergence(runs, item, labels)) for item in found
        ],
        summary=[],
    )
    return comparison.model_copy(update={"summary": summarize(comparison)})


# -- the parts of a comparison ---------------------------------------------------------------


def _ref(execution: Execution, labels: dict[str, str]) -> RunRef:
    return RunRef(
        id=execution.id,
        label=labels[execution.id],
        pipeline=execution.pipeline,
        stage=execution.stage,
        status=execution.status,
        started_at=execution.started_at,
        ended_at=execution.ended_at,
        error=execution.error,
    )


def _labels(ids: Sequence[str], shortest: int = 8) -> dict[str, str]:
    """Prefixes of one length (≥ ``shortest``) that tell apart every id named here."""
    unique = sorted(set(ids))
    length = max([shortest, *(_shared(a, b) + 1 for a, b in pairwise(unique))])
    while any(i[length - 1 : length] == "-" for i in unique):
        length += 1  # never end a label on a UUID's hyphen
    return {i: i[:length] for i in unique}


def _shared(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def _params(runs: Sequence[Execution]) -> list[ParamDiff]:
    names = sorted({name for r in runs for name in r.params})
    return [
        ParamDiff(
            name=name,
            change=change_of([r.params.get(name) for r in runs], [name in r.params for r in runs]),
            values=[r.params.get(name) for r in runs],
        )
        for name in names
    ]


def _metrics(runs: Sequence[Execution], finals: dict[str, dict[str, float]]) -> list[MetricDiff]:
    names = sorted({name for r in runs for name in finals[r.id]})
    diffs = []
    for name in names:
        values = [finals[r.id].get(name) for r in runs]
        base = values[0]
        deltas: list[float | None] = []
        ratios: list[float | None] = []
        for value in values:
            known = base is not None and value is not None
            deltas.append(value - base if known else None)  # type: ignore[operator]
            ratios.append(value / base if known and base != 0 else None)  # type: ignore[operator]
        diffs.append(
            MetricDiff(
                name=name,
                change=change_of(values, [v is not None for v in values]),
                values=values,
                deltas=deltas,
                ratios=ratios,
            )
        )
    return diffs


def _series(runs: Sequence[Execution], stats: Sequence["SeriesStats"]) -> list[SeriesDiff]:
    by_name: dict[str, dict[str, SeriesSummary]] = {}
    for s in stats:
        by_name.setdefault(s.name, {})[s.execution_id] = SeriesSummary(
            count=s.count,
            nan_count=s.nan_count,
            first_step=s.first_step,
            last_step=s.last_step,
            first=math.nan if s.first is None else s.first,
            last=math.nan if s.last is None else s.last,
            min=s.min,
            max=s.max,
            min_step=s.min_step,
            max_step=s.max_step,
        )
    diffs = []
    for name in sorted(by_name):
        summaries = [by_name[name].get(r.id) for r in runs]
        keys = [None if s is None else s.model_dump(mode="json") for s in summaries]
        diffs.append(
            SeriesDiff(
                name=name,
                change=change_of(keys, [s is not None for s in summaries]),
                summaries=summaries,
            )
        )
    return diffs


def _paths(
    runs: Sequence[Execution], events: dict[str, list[EventDetail]], direction: EventDirection
) -> list[PathDiff]:
    seen: list[dict[str, EventDetail]] = [
        {e.path: e for e in events[r.id] if e.direction is direction} for r in runs
    ]
    by_path = {
        path: [s[path].artifact.digest if path in s else None for s in seen]
        for path in {p for s in seen for p in s}
    }
    diffs = []
    for group in moved_groups(by_path):
        used = [next(p for p in group if p in s) for s in seen]
        diffs.append(
            PathDiff(
                path=used[0],
                change="moved",
                digests=[seen[i][p].artifact.digest for i, p in enumerate(used)],
                type=seen[0][used[0]].artifact.type.value,
                paths=list(used),
            )
        )
        for p in group:
            del by_path[p]
    for path, digests in by_path.items():
        kind = next(s[path].artifact.type.value for s in seen if path in s)
        diffs.append(
            PathDiff(
                path=path,
                change=change_of(digests, [d is not None for d in digests]),
                digests=digests,
                type=kind,
            )
        )
    return sorted(diffs, key=lambda diff: diff.path)


def _code(runs: Sequence[Execution]) -> CodeDiff:
    commits = [r.git_commit_start for r in runs]
    dirty = [r.git_is_dirty for r in runs]
    diffs = [r.git_diff_digest for r in runs]
    return CodeDiff(
        changed=len(set(commits)) > 1 or len(set(diffs)) > 1 or len(set(dirty)) > 1,
        commits=commits,
        dirty=dirty,
        diff_digests=diffs,
        branches=[r.git_branch for r in runs],
        remotes=[r.git_remote for r in runs],
    )


def _environment(
    runs: Sequence[Execution], documents: dict[str, dict[str, Any]]
) -> EnvironmentDiff:
    docs = [documents.get(r.environment_digest or "") for r in runs]
    packages: list[dict[str, str]] = [
        dict(d.get("packages") or {}) if d is not None else {} for d in docs
    ]
    has = [d is not None for d in docs]
    diffs = []
    for name in sorted({n for p in packages for n in p}):
        versions = [p.get(name) if h else None for p, h in zip(packages, has, strict=True)]
        present = [v is not None for v, h in zip(versions, has, strict=True) if h]
        known = [v for v, h in zip(versions, has, strict=True) if h]
        change = change_of(known, present)
        if change != "same":
            diffs.append(PackageDiff(name=name, change=change, versions=versions))
    digests = [r.environment_digest for r in runs]
    return EnvironmentDiff(
        changed=len(set(digests)) > 1,
        digests=digests,
        python=[_python(d) for d in docs],
        platforms=[_platform(d) for d in docs],
        packages=diffs,
    )


def _python(document: dict[str, Any] | None) -> str | None:
    python = (document or {}).get("python") or {}
    return str(python["version"]) if "version" in python else None


def _platform(document: dict[str, Any] | None) -> str | None:
    described = (document or {}).get("platform") or {}
    words = [str(described[k]) for k in ("system", "machine") if described.get(k)]
    if described.get("libc"):
        words.append(f"({described['libc']})")
    return " ".join(words) or None


def _divergence(found: Found, labels: dict[str, str], sentence: str) -> Divergence:
    last = found.steps[-1]
    return Divergence(
        kind=found.kind,
        hops=len(found.steps),
        trail=[s.path for s in found.steps],
        path=last.path,
        digests=last.digests,
        producers=[None if p is None else _ref(p, labels) for p in last.producers],
        reasons=found.reasons,
        sentence=sentence,
        paths=last.paths,
        also=[
            f"{next(p.stage for p in s.producers if p)}: {reason}"
            for s in found.steps[:-1]
            for reason in s.reasons
        ],
    )
