"""Compare executions: what differs between two or more runs, and where their lineage parts.

::

    comparison = compare_runs(store, ["0193a1b2", "0193a1c4"])
    comparison.summary
    # ['accuracy fell 0.93 → 0.88 (−5.4 %)',
    #  'train inputs differ: data/features md5:aa12bc34… vs md5:bb56de78…, produced by
    #   featurize runs 0193a0f1 and 0193a0f9 whose params differ in scale',
    #  'lr changed 0.01 → 0.1', 'input data/labels.csv changed (md5:…)', 'numpy 1.26.4 → 2.0.2']

Every per-run list in the record is aligned with ``executions``; the first
execution is the baseline that changes, deltas and ratios are measured
against. ``change`` is ``same`` or ``changed`` when every run has the value,
``added`` when the baseline lacks it, ``removed`` when the baseline has it
and some other run lacks it.

Lineage divergence walks upstream from the runs in lock-step: their inputs
are matched by path; where digests differ, the producing executions are
compared; if those ran with the same stage, params, code and environment,
the walk goes on to *their* inputs, one batched query per hop, until it
finds producers that differ (the cause), a source artifact no recorded
execution wrote, a path only some runs read, or producers that differ in
nothing but their outputs (a stage that is not deterministic). It follows
at most 8 branches at once for at most 100 hops and reports at most 10
divergences, nearest first; a cycle in corrupt data ends a branch.

``summary`` orders its sentences by what most likely explains a change:
runs of different stages or a failed run, then metric changes (largest
relative change first), lineage divergence, params, inputs, code,
environment, step series and outputs.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

from cmf_core.errors import InvalidInputError
from cmf_core.records import EventDetail, EventDirection, Execution, ExecutionStatus, Record

if TYPE_CHECKING:
    from cmf_core.store import Store
    from cmf_core.store.history import SeriesStats

MAX_RUNS = 20
MAX_HOPS = 100
MAX_TRAILS = 8  # upstream branches followed at once
MAX_FOUND = 10  # divergences reported

Change = Literal["same", "changed", "added", "removed"]
DivergenceKind = Literal["settings", "source", "missing", "nondeterministic"]


class RunRef(Record):
    """An execution as a comparison names it; ``label`` is a prefix unique in the comparison."""

    id: str
    label: str
    pipeline: str
    stage: str
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None
    error: str | None


class ParamDiff(Record):
    name: str
    change: Change
    values: list[Any]
    """One per run; None where the run has no such param."""


class MetricDiff(Record):
    """An execution-level metric; ``deltas`` and ``ratios`` are against the first run."""

    name: str
    change: Change
    values: list[float | None]
    deltas: list[float | None]
    ratios: list[float | None]


class SeriesSummary(Record):
    """A step series: values are NaN where NaN was logged; min and max skip NaN."""

    count: int
    nan_count: int
    first_step: int
    last_step: int
    first: float
    last: float
    min: float | None
    max: float | None
    min_step: int | None
    max_step: int | None


class SeriesDiff(Record):
    name: str
    change: Change
    summaries: list[SeriesSummary | None]


class PathDiff(Record):
    """An input or output path: the digest each run read or wrote there."""

    path: str
    change: Change
    digests: list[str | None]
    type: str


class CodeDiff(Record):
    changed: bool
    commits: list[str | None]
    dirty: list[bool | None]
    diff_digests: list[str | None]
    branches: list[str | None]
    remotes: list[str | None]


class PackageDiff(Record):
    name: str
    change: Change
    versions: list[str | None]


class EnvironmentDiff(Record):
    """Environments from their recorded documents; ``packages`` lists only those that differ."""

    changed: bool
    digests: list[str | None]
    python: list[str | None]
    platforms: list[str | None]
    packages: list[PackageDiff]


class Divergence(Record):
    """Where the runs' upstream lineage parts (see the module docstring for ``kind``)."""

    kind: DivergenceKind
    hops: int
    """Artifact hops above the compared runs: 1 is their own inputs."""
    trail: list[str]
    """The paths followed from the compared runs up to ``path`` (``path`` last)."""
    path: str
    digests: list[str | None]
    producers: list[RunRef | None]
    """The executions that wrote ``digests`` (None for a source or a missing path)."""
    reasons: list[str]
    sentence: str


class Comparison(Record):
    executions: list[RunRef]
    params: list[ParamDiff]
    metrics: list[MetricDiff]
    series: list[SeriesDiff]
    inputs: list[PathDiff]
    outputs: list[PathDiff]
    code: CodeDiff
    environment: EnvironmentDiff
    divergence: list[Divergence]
    summary: list[str]
    """Plain sentences, most telling first: what a person or a model reads first."""


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
    walk = _Walk(store, runs, events)
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
        divergence=[_divergence(runs, item, labels) for item in found],
        summary=[],
    )
    return comparison.model_copy(update={"summary": _summary(comparison)})


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


def change_of(values: Sequence[Any], present: Sequence[bool]) -> Change:
    if all(present):
        return "same" if all(same_value(v, values[0]) for v in values) else "changed"
    return "removed" if present[0] else "added"


def same_value(a: Any, b: Any) -> bool:
    """Equal as recorded values: NaN equals NaN, 1 equals 1.0, True does not equal 1."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return isinstance(a, bool) == isinstance(b, bool) and bool(a == b)


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
    diffs = []
    for path in sorted({p for s in seen for p in s}):
        digests = [s[path].artifact.digest if path in s else None for s in seen]
        kind = next(s[path].artifact.type.value for s in seen if path in s)
        diffs.append(
            PathDiff(
                path=path,
                change=change_of(digests, [d is not None for d in digests]),
                digests=digests,
                type=kind,
            )
        )
    return diffs


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


# -- lineage divergence ----------------------------------------------------------------------


@dataclass
class Step:
    """One differing path on the way up: the digests each run's side had, and who wrote them."""

    path: str
    digests: list[str | None]
    producers: list[Execution | None] = field(default_factory=list)


@dataclass
class Found:
    kind: DivergenceKind
    steps: list[Step]
    reasons: list[str]


@dataclass
class _Trail:
    runs: list[Execution]
    steps: list[Step]


class _Walk:
    """The lock-step upstream walk (module docstring): per hop, one query for the inputs of
    every execution on every trail and one for the producers of every differing digest."""

    def __init__(
        self, store: "Store", runs: Sequence[Execution], events: dict[str, list[EventDetail]]
    ) -> None:
        self.store = store
        self.trails = [_Trail(list(runs), [])]
        self.inputs = {
            r.id: {e.path: e.artifact.digest for e in events[r.id] if e.direction.value == "input"}
            for r in runs
        }
        self.found: list[Found] = []
        self.visited: set[tuple[str, ...]] = {tuple(r.id for r in runs)}

    def producer_ids(self) -> list[str]:
        return [p.id for f in self.found for s in f.steps for p in s.producers if p is not None]

    def run(self) -> list[Found]:
        for hop in range(MAX_HOPS):
            if not self.trails:
                break
            if hop:
                wanted = sorted({r.id for t in self.trails for r in t.runs} - set(self.inputs))
                self.inputs.update(self.store.input_digests(wanted))
            pending: list[tuple[_Trail, Step]] = []
            for trail in self.trails:
                pending.extend((trail, step) for step in self._differing(trail))
            pending = pending[: max(0, MAX_FOUND - len(self.found))]
            digests = {d for _, step in pending for d in step.digests if d is not None}
            made = self.store.producers(digests)
            self.trails = []
            for trail, step in pending:
                self._follow(trail, step, made)
        return self.found[:MAX_FOUND]

    def _differing(self, trail: _Trail) -> list[Step]:
        maps = [self.inputs.get(r.id, {}) for r in trail.runs]
        steps = []
        for path in sorted({p for m in maps for p in m}):
            digests = [m.get(path) for m in maps]
            if len(set(digests)) > 1:
                steps.append(Step(path, digests))
        if not steps and trail.steps:  # same settings, same inputs, different outputs
            self.found.append(Found("nondeterministic", trail.steps, []))
        missing = [s for s in steps if None in s.digests]
        for step in missing:
            self.found.append(Found("missing", [*trail.steps, step], []))
        return [s for s in steps if None not in s.digests]

    def _follow(self, trail: _Trail, step: Step, made: dict[str, list[Execution]]) -> None:
        step.producers = [
            _producer(made.get(d or "", []), consumer)
            for d, consumer in zip(step.digests, trail.runs, strict=True)
        ]
        steps = [*trail.steps, step]
        if any(p is None for p in step.producers):
            self.found.append(Found("source", steps, []))
            return
        producers = [p for p in step.producers if p is not None]
        reasons = settings_differ(producers)
        if reasons:
            self.found.append(Found("settings", steps, reasons))
            return
        key = tuple(p.id for p in producers)
        if key in self.visited or len(self.trails) >= MAX_TRAILS:
            return  # a cycle in corrupt data, or enough branches followed
        self.visited.add(key)
        self.trails.append(_Trail(producers, steps))


def _producer(candidates: Sequence[Execution], consumer: Execution) -> Execution | None:
    """The writer the consumer most likely read: the latest that started before it did."""
    others = [c for c in candidates if c.id != consumer.id]
    before = [c for c in others if c.started_at <= consumer.started_at]
    chosen = (before or others)[-1:] if others else []
    return chosen[0] if chosen else None


def settings_differ(runs: Sequence[Execution]) -> list[str]:
    """Why these executions would write different bytes from the same inputs, if they would."""
    reasons = []
    stages = [f"{r.pipeline}/{r.stage}" for r in runs]
    if len(set(stages)) > 1:
        reasons.append("stages differ (" + " vs ".join(stages) + ")")
    names = sorted({n for r in runs for n in r.params})
    params = [
        n
        for n in names
        if change_of([r.params.get(n) for r in runs], [n in r.params for r in runs]) != "same"
    ]
    if params:
        reasons.append("params differ in " + ", ".join(params))
    commits = [r.git_commit_start for r in runs]
    if len(set(commits)) > 1:
        reasons.append(
            "code differs (" + " vs ".join((c or "no commit")[:7] for c in commits) + ")"
        )
    elif len({r.git_diff_digest for r in runs}) > 1:
        reasons.append("uncommitted changes differ")
    if len({r.environment_digest for r in runs}) > 1:
        reasons.append("environments differ")
    return reasons


# -- sentences -------------------------------------------------------------------------------

MAX_SENTENCES = 30
MAX_PACKAGE_SENTENCES = 8


def _divergence(runs: Sequence[Execution], found: Found, labels: dict[str, str]) -> Divergence:
    last = found.steps[-1]
    return Divergence(
        kind=found.kind,
        hops=len(found.steps),
        trail=[s.path for s in found.steps],
        path=last.path,
        digests=last.digests,
        producers=[None if p is None else _ref(p, labels) for p in last.producers],
        reasons=found.reasons,
        sentence=_divergence_sentence(runs, found, labels),
    )


def _divergence_sentence(runs: Sequence[Execution], found: Found, labels: dict[str, str]) -> str:
    consumer = _one({r.stage for r in runs}, "the runs'")
    parts = [f"{consumer} inputs differ:"]
    readers: Sequence[Execution] = runs
    for i, step in enumerate(found.steps):
        if None in step.digests:  # a path only some of the readers read
            having = [labels[r.id] for r, x in zip(readers, step.digests, strict=True) if x]
            parts.append(
                f"{step.path} is read only by {_runs(having)}"
                if i == 0
                else f"of which only {_runs(having)} read {step.path}"
            )
            break
        parts.append(f"{'' if i == 0 else 'which read '}{step.path} {_versus(step.digests)}")
        if any(p is None for p in step.producers):
            parts.append(_sources(readers, step, labels))
            break
        producers = [p for p in step.producers if p is not None]
        stage = _one({p.stage for p in producers}, "")
        text = (
            f"produced by {stage + ' ' if stage else ''}{_runs([labels[p.id] for p in producers])}"
        )
        if i < len(found.steps) - 1:
            text += " with the same params, code and environment"
        elif found.kind == "settings":
            text += " whose " + " and ".join(found.reasons)
        else:
            text += (
                ", which had the same inputs, params, code and environment: "
                f"{producers[0].stage} is not deterministic"
            )
        parts.append(text)
        readers = producers
    return parts[0] + " " + ", ".join(parts[1:])


def _sources(runs: Sequence[Execution], step: Step, labels: dict[str, str]) -> str:
    if all(p is None for p in step.producers):
        return "which no recorded execution wrote: it changed at its source"
    sides = []
    for run, producer in zip(runs, step.producers, strict=True):
        by = (
            "no recorded execution"
            if producer is None
            else f"{producer.stage} run {labels[producer.id]}"
        )
        sides.append(f"by {by} on {labels[run.id]}'s side")
    return "written " + " and ".join(sides)


def _one(values: set[str], otherwise: str) -> str:
    return next(iter(values)) if len(values) == 1 else otherwise


def _runs(labels: Sequence[str]) -> str:
    unique = list(dict.fromkeys(labels))
    if len(unique) == 1:
        return f"run {unique[0]}"
    return f"runs {', '.join(unique[:-1])} and {unique[-1]}"


def _short(digest: str | None) -> str:
    if digest is None:
        return "(none)"
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}:{value[:8]}…" if len(value) > 8 else digest


def _versus(digests: Sequence[str | None]) -> str:
    return " vs ".join(_short(d) for d in digests)


def _numbers(values: Sequence[float | None]) -> list[str]:
    """Values in as few digits as keep different values apart (0.93 and 0.9300001 stay apart)."""
    known = [v for v in values if v is not None]
    for digits in range(3, 13):
        shown = {v: f"{v:.{digits}g}" for v in known}
        if len(set(shown.values())) == len({v for v in known if not math.isnan(v)}) + any(
            math.isnan(v) for v in known
        ):
            break
    return ["none" if v is None else "NaN" if math.isnan(v) else shown[v] for v in values]


def _value(value: Any) -> str:
    if isinstance(value, str) and value and value.strip() == value and " " not in value:
        return value
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _chain(shown: Sequence[str]) -> str:
    return " → ".join(shown)


def _presence(what: str, present: Sequence[bool], labels: Sequence[str], value: str = "") -> str:
    if not present[0]:
        having = [label for label, p in zip(labels, present, strict=True) if p]
        return f"{what} only in {_runs(having)}{value}"
    lacking = [label for label, p in zip(labels, present, strict=True) if not p]
    return f"{what} missing in {_runs(lacking)}{value}"


def _metric_sentence(diff: MetricDiff, labels: Sequence[str]) -> str:
    shown = _numbers(diff.values)
    if diff.change != "changed":
        present = [v is not None for v in diff.values]
        values = ", ".join(s for s, p in zip(shown, present, strict=True) if p)
        return _presence(f"metric {diff.name}", present, labels, f" ({values})")
    base = diff.values[0]
    assert base is not None
    if len(diff.values) == 2:
        other = diff.values[1]
        assert other is not None
        verb = (
            "changed"
            if math.isnan(base) or math.isnan(other)
            else "rose"
            if other > base
            else "fell"
        )
        return f"{diff.name} {verb} {_chain(shown)}{_percent([diff.ratios[1]])}"
    return f"{diff.name} changed {_chain(shown)}{_percent(diff.ratios[1:])}"


def _percent(ratios: Sequence[float | None]) -> str:
    parts = []
    for ratio in ratios:
        if ratio is None or math.isnan(ratio) or math.isinf(ratio):
            return ""
        change = (ratio - 1) * 100
        text = f"{abs(change):.1f}" if abs(change) >= 1 else f"{abs(change):.2g}"
        parts.append(f"{'−' if change < 0 else '+'}{text} %")
    return f" ({', '.join(parts)})"


def _metric_weight(diff: MetricDiff) -> float:
    """How much a metric moved, for ordering: NaN and missing first, then relative change."""
    if diff.change != "changed" or any(v is not None and math.isnan(v) for v in diff.values):
        return math.inf
    return max(abs(r - 1) if r is not None else math.inf for r in diff.ratios)


def _summary(c: Comparison) -> list[str]:
    labels = [r.label for r in c.executions]
    said: list[str] = []
    where = {f"{r.pipeline}/{r.stage}" for r in c.executions}
    if len(where) > 1:
        said.append(
            "the runs are of different stages: "
            + " vs ".join(f"{r.pipeline}/{r.stage}" for r in c.executions)
        )
    for run in c.executions:
        if run.status is ExecutionStatus.FAILED:
            said.append(f"run {run.label} failed" + (f": {run.error}" if run.error else ""))
        elif run.status is ExecutionStatus.RUNNING:
            said.append(f"run {run.label} is still running (or was killed before it ended)")
    changed = sorted((m for m in c.metrics if m.change != "same"), key=_metric_weight, reverse=True)
    said.extend(_metric_sentence(m, labels) for m in changed)
    said.extend(d.sentence for d in c.divergence)
    said.extend(
        f"{p.name} changed {_chain([_value(v) for v in p.values])}"
        for p in c.params
        if p.change == "changed"
    )
    for p in c.params:
        if p.change in ("added", "removed"):
            value = next(_value(v) for v in p.values if v is not None)
            present = [v is not None for v in p.values]
            said.append(_presence(f"param {p.name}", present, labels, f" ({value})"))
    explained = {d.trail[0] for d in c.divergence}
    said.extend(_path_sentences("input", c.inputs, labels, skip=explained))
    said.extend(_code_sentences(c.code, labels))
    said.extend(_environment_sentences(c.environment, labels))
    for s in c.series:
        if s.change == "changed":
            said.append(_series_sentence(s, labels))
        elif s.change != "same":
            said.append(
                _presence(f"step series {s.name}", [x is not None for x in s.summaries], labels)
            )
    outputs = [o.path for o in c.outputs if o.change != "same"]
    if outputs:
        said.append("outputs differ: " + ", ".join(outputs))
    if not said:
        return ["No differences in params, metrics, inputs, outputs, code or environment."]
    if len(said) > MAX_SENTENCES:
        more = len(said) - MAX_SENTENCES + 1
        said = [*said[: MAX_SENTENCES - 1], f"… and {more} more differences in the record"]
    return said


def _path_sentences(
    what: str, diffs: Sequence[PathDiff], labels: Sequence[str], *, skip: set[str]
) -> list[str]:
    said = []
    for d in diffs:
        if d.change == "same" or d.path in skip:
            continue
        if d.change == "changed":
            said.append(f"{what} {d.path} changed ({_chain([_short(x) for x in d.digests])})")
        else:
            said.append(_presence(f"{what} {d.path}", [x is not None for x in d.digests], labels))
    return said


def _code_sentences(code: CodeDiff, labels: Sequence[str]) -> list[str]:
    said = []
    if len(set(code.commits)) > 1:
        said.append("code changed: commit " + _chain([(c or "none")[:10] for c in code.commits]))
    if len(set(code.branches)) > 1:
        said.append("branch " + _chain([b or "none" for b in code.branches]))
    if len(set(code.dirty)) > 1 or len(set(code.diff_digests)) > 1:
        for label, dirty, diff in zip(labels, code.dirty, code.diff_digests, strict=True):
            if dirty:
                said.append(f"run {label} ran with uncommitted changes (diff {_short(diff)})")
    return said


def _environment_sentences(env: EnvironmentDiff, labels: Sequence[str]) -> list[str]:
    if not env.changed:
        return []
    said = []
    if len(set(env.python)) > 1:
        said.append("python " + _chain([v or "unknown" for v in env.python]))
    if len(set(env.platforms)) > 1:
        said.append("platform " + _chain([v or "unknown" for v in env.platforms]))
    for p in env.packages[:MAX_PACKAGE_SENTENCES]:
        if p.change == "changed":
            said.append(f"{p.name} {_chain([v or 'none' for v in p.versions])}")
        else:
            version = next(v for v in p.versions if v is not None)
            said.append(
                _presence(
                    f"package {p.name}",
                    [v is not None for v in p.versions],
                    labels,
                    f" ({version})",
                )
            )
    if len(env.packages) > MAX_PACKAGE_SENTENCES:
        said.append(f"and {len(env.packages) - MAX_PACKAGE_SENTENCES} more package changes")
    if not said:
        unknown = [label for label, d in zip(labels, env.digests, strict=True) if d is None]
        said.append(
            f"no environment recorded for {_runs(unknown)}"
            if unknown
            else "environments differ ("
            + _versus(env.digests)
            + "), but their documents are not in the store"
        )
    return said


def _series_sentence(diff: SeriesDiff, labels: Sequence[str]) -> str:
    present = [s for s in diff.summaries if s is not None]
    lows = _numbers([s.min for s in present])
    text = (
        f"{diff.name} series: last {_chain(_numbers([s.last for s in present]))}, "
        f"min {_chain([f'{v} (step {s.min_step})' for v, s in zip(lows, present, strict=True)])}"
    )
    if len({s.count for s in present}) > 1:
        text += f", {_chain([str(s.count) for s in present])} steps"
    with_nan = [label for label, s in zip(labels, diff.summaries, strict=True) if s and s.nan_count]
    if with_nan:
        text += f", NaN in {_runs(with_nan)}"
    return text
