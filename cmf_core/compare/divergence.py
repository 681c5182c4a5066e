"""Lineage divergence: where the upstream lineage of compared runs parts.

The walk goes upstream from the runs in lock-step: their inputs
are matched by path (paths only some runs read that hold the same bytes,
each run reading one of them, are the same input moved, not a difference:
``moved_groups``; and when, after that, every run has exactly one path the
others lack, those paths are one input read under different paths and are
compared as one, ``Step.paths``). Where digests differ, the producing
executions are compared, and the walk goes on to *their* inputs, one batched
query per hop, for as long as those inputs differ too: the cause is the first
node where the histories part. So producers whose params, code or environment
differ are the cause only when they read the same inputs; when their inputs
differ as well, their differences are kept (``Step.reasons``, reported as
``also``) and the walk goes on — a raw file changed in a Git work tree makes
every later run "dirty" with another diff, and the raw file is still the
cause. The walk ends at producers of different stages, a source artifact no
recorded execution wrote, a path only some runs read, or producers that differ
in nothing but their outputs (a stage that is not deterministic). It follows at
most 8 branches at once for at most 100 hops and reports at most 10
divergences, nearest first; a cycle in corrupt data ends a branch.

``cmf_core.compare.compare.compare_runs`` runs the walk and turns each ``Found`` into a
``Divergence`` record.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cmf_core.compare.records import DivergenceKind, change_of
from cmf_core.records import EventDetail, Execution

if TYPE_CHECKING:
    from cmf_core.store import Store

MAX_HOPS = 100
MAX_TRAILS = 8  # upstream branches followed at once
MAX_FOUND = 10  # divergences reported


@dataclass
class Step:
    """One differing path on the way up: the digests each run's side had, and who wrote them."""

    path: str
    digests: list[str | None]
    producers: list[Execution | None] = field(default_factory=list)
    paths: list[str] | None = None
    """The path each run read it under, when they differ (None: all read ``path``)."""
    reasons: list[str] = field(default_factory=list)
    """How its producers' settings differ, when the walk went on past them."""


@dataclass
class Found:
    kind: DivergenceKind
    steps: list[Step]
    reasons: list[str]


@dataclass
class _Trail:
    runs: list[Execution]
    steps: list[Step]


class Walk:
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
        for trail in self.trails:  # out of hops: producers that differ are what is known
            if trail.steps and trail.steps[-1].reasons:
                self.found.append(Found("settings", trail.steps, trail.steps[-1].reasons))
        return self.found[:MAX_FOUND]

    def _differing(self, trail: _Trail) -> list[Step]:
        maps = [self.inputs.get(r.id, {}) for r in trail.runs]
        by_path = {path: [m.get(path) for m in maps] for path in {p for m in maps for p in m}}
        moved = {path for group in moved_groups(by_path) for path in group}
        steps = _pair_renamed(
            [
                Step(path, digests)
                for path, digests in sorted(by_path.items())
                if len(set(digests)) > 1 and path not in moved
            ]
        )
        if not steps and trail.steps:
            last = trail.steps[-1]
            if last.reasons:  # the same inputs, different settings: the settings are the cause
                self.found.append(Found("settings", trail.steps, last.reasons))
            else:  # same settings, same inputs, different outputs
                self.found.append(Found("nondeterministic", trail.steps, []))
        missing = [s for s in steps if None in s.digests]
        for step in missing:
            step.producers = [None] * len(trail.runs)  # one per run, as for the other kinds
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
        if reasons and reasons[0].startswith("stages differ"):
            self.found.append(Found("settings", steps, reasons))
            return
        step.reasons = reasons  # the cause only if the producers' inputs are the same
        key = tuple(p.id for p in producers)
        if key in self.visited or len(self.trails) >= MAX_TRAILS:
            if reasons:  # cannot look further up: the differences seen here are what is known
                self.found.append(Found("settings", steps, reasons))
            return  # a cycle in corrupt data, or enough branches followed
        self.visited.add(key)
        self.trails.append(_Trail(producers, steps))


def _pair_renamed(steps: list[Step]) -> list[Step]:
    """The steps, with the paths each only some runs read made one step when every run
    has exactly one of them: the same input read under different paths."""
    missing = [s for s in steps if None in s.digests]
    if len(missing) < 2:
        return steps
    runs = len(missing[0].digests)
    mine = [[s for s in missing if s.digests[i] is not None] for i in range(runs)]
    if any(len(m) != 1 for m in mine):
        return steps
    paths = [m[0].path for m in mine]
    paired = Step(paths[0], [m[0].digests[i] for i, m in enumerate(mine)], paths=paths)
    others = [s for s in steps if None not in s.digests]
    return others if len(set(paired.digests)) == 1 else [*others, paired]


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


def moved_groups(digests: dict[str, list[str | None]]) -> list[list[str]]:
    """Paths (each with one digest per run, None where the run lacks it) that are the same
    bytes moved: each present in only some runs, all with one digest, and every run has
    exactly one of them. Groups in path order, paths sorted in each."""
    by_digest: dict[str, list[str]] = {}
    for path in sorted(digests):
        known = {x for x in digests[path] if x is not None}
        if None in digests[path] and len(known) == 1:
            by_digest.setdefault(known.pop(), []).append(path)
    groups = []
    for left in by_digest.values():
        while left:
            group = [left.pop(0)]
            covered = [x is not None for x in digests[group[0]]]
            for path in left:
                here = [x is not None for x in digests[path]]
                if not any(a and b for a, b in zip(covered, here, strict=True)):
                    group.append(path)
                    covered = [a or b for a, b in zip(covered, here, strict=True)]
                    if all(covered):
                        break
            if all(covered):
                groups.append(group)
                left = [p for p in left if p not in group]
    return sorted(groups)
