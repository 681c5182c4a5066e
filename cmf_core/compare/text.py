"""The sentences of a comparison: ``Comparison.summary`` and each ``Divergence.sentence``.

``summary`` orders its sentences by what most likely explains a change:
runs of different stages or a failed run, then metric changes (largest
relative change first), lineage divergence, params, inputs, code,
environment, step series and outputs.
"""

import math
from collections.abc import Sequence
from typing import Any

from cmf_core.compare.divergence import Found, Step
from cmf_core.compare.records import (
    CodeDiff,
    Comparison,
    EnvironmentDiff,
    MetricDiff,
    PathDiff,
    SeriesDiff,
)
from cmf_core.records import Execution, ExecutionStatus

MAX_SENTENCES = 30
MAX_PACKAGE_SENTENCES = 8


def describe_divergence(runs: Sequence[Execution], found: Found, labels: dict[str, str]) -> str:
    """The sentence for one divergence, naming runs by their ``labels``."""
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
        read = " vs ".join(step.paths) if step.paths else step.path
        parts.append(f"{'' if i == 0 else 'which read '}{read} {_versus(step.digests)}")
        if any(p is None for p in step.producers):
            parts.append(_sources(readers, step, labels))
            break
        producers = [p for p in step.producers if p is not None]
        stage = _one({p.stage for p in producers}, "")
        text = (
            f"produced by {stage + ' ' if stage else ''}{_runs([labels[p.id] for p in producers])}"
        )
        if i < len(found.steps) - 1 and step.reasons:
            text += " (whose " + " and ".join(step.reasons) + " too)"
        elif i < len(found.steps) - 1:
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


def summarize(c: Comparison) -> list[str]:
    """``Comparison.summary``: plain sentences, most telling first (module docstring)."""
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
    explained = {d.trail[0] for d in c.divergence} | {
        p for d in c.divergence if d.hops == 1 for p in d.paths or [] if p
    }
    said.extend(_path_sentences("input", "read", c.inputs, labels, skip=explained))
    said.extend(_code_sentences(c.code, labels))
    said.extend(_environment_sentences(c.environment, labels))
    for s in c.series:
        if s.change == "changed":
            said.append(_series_sentence(s, labels))
        elif s.change != "same":
            said.append(
                _presence(f"step series {s.name}", [x is not None for x in s.summaries], labels)
            )
    outputs = [o.path for o in c.outputs if o.change not in ("same", "moved")]
    if outputs:
        said.append("outputs differ: " + ", ".join(outputs))
    moved = [o for o in c.outputs if o.change == "moved"]
    said.extend(_path_sentences("output", "written", moved, labels, skip=set()))
    if not said:
        return ["No differences in params, metrics, inputs, outputs, code or environment."]
    if len(said) > MAX_SENTENCES:
        more = len(said) - MAX_SENTENCES + 1
        said = [*said[: MAX_SENTENCES - 1], f"… and {more} more differences in the record"]
    return said


def _path_sentences(
    what: str, verb: str, diffs: Sequence[PathDiff], labels: Sequence[str], *, skip: set[str]
) -> list[str]:
    said = []
    for d in diffs:
        if d.change == "same" or d.path in skip:
            continue
        if d.change == "moved":
            said.append(f"{what} {d.path} was {verb} as {_moved(d, labels)} (same bytes)")
        elif d.change == "changed":
            said.append(f"{what} {d.path} changed ({_chain([_short(x) for x in d.digests])})")
        else:
            said.append(_presence(f"{what} {d.path}", [x is not None for x in d.digests], labels))
    return said


def _moved(diff: PathDiff, labels: Sequence[str]) -> str:
    """The other paths of a moved entry, with the runs that used each when there are 3+ runs."""
    paths = diff.paths or []
    others = list(dict.fromkeys(p for p in paths if p is not None and p != diff.path))
    if len(paths) == 2:
        return others[0]
    return ", ".join(
        f"{other} in {_runs([lbl for lbl, p in zip(labels, paths, strict=True) if p == other])}"
        for other in others
    )


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
