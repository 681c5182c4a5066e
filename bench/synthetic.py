"""A synthetic cmf store for benchmarks: realistic shape, any size, deterministic from a seed.

Python (from a script in bench/, ``from synthetic import …``)::

    from bench.synthetic import ensure, generate
    s = generate("sqlite:///bench/data/s.db", executions=100_000, seed=0)  # always a NEW store
    s = ensure(None, executions=1_000_000)  # reuse bench/data/synthetic-n1000000-s0-p20.db

CLI (prints the :class:`SyntheticStore` as JSON; progress on stderr)::

    .venv/bin/python bench/synthetic.py --executions 1000000 [--seed 0] [--pipelines 20]
        [--url URL] [--batch 20000] [--force]

Default URL: ``bench/data/synthetic-n<N>-s<seed>-p<pipelines>.db`` (git-ignored). A small
JSON sidecar next to a SQLite file (``<file>.json``; for another URL,
``bench/data/<host>-<port>-<database>.json``) records the parameters and the anchors: a
second call with the same parameters prints them and skips generation (``"reused": true``).
A SQLite file or PostgreSQL database with other contents is replaced only with ``--force``
(the file is deleted; on PostgreSQL the cmf tables are dropped).

How it writes: the store is opened with ``cmf_core.store.Store(url)`` (which creates the
schema), then rows go straight into the tables of ``cmf_core.store.schema`` with SQLAlchemy
Core ``executemany`` inserts through the Store's private engine ``store._engine`` (fine for a
bench tool; nothing in cmf_core does this). Ids of pipelines, stages and artifacts are
assigned here, so events need no look-ups; on PostgreSQL the id sequences are moved past
them afterwards, so the store accepts normal writes, and ``ANALYZE`` runs (as autovacuum
would soon do). SQLite runs with ``synchronous=OFF`` while generating and gets no
``ANALYZE`` (cmf never runs it, so the benches see what a user's store looks like).
One transaction per ``batch`` executions.

Shape (every choice comes from ``random.Random(seed)``):

- ``pipelines`` pipelines (≥ 2); each has a chain of 4–6 stages ending in train → evaluate
  (e.g. prepare → featurize → train → evaluate; ingest → prepare → split → featurize → …).
  Pipelines 2, 7, 12, … (or the last one, with fewer than 3) are *iterative* (fine-tuning):
  40 % of all executions, 85 % of those in train.
- Each execution reads ~1–3 inputs and writes an output when it completes (about 3 events
  per execution in all). First-stage inputs are raw datasets (3 of the pipeline's own and
  2 of 6 that pipelines share); later stages read outputs of the previous stage chosen
  among its 8 most recent, so lineage branches and forms diamonds; evaluate reads a model
  and a featurize output. Outputs: datasets (featurize writes directories, ``md5:….dir``),
  a model from train (sometimes also a metrics report), metrics from evaluate. Digests are
  unique random ``md5:<32 hex>``. Paths are stable per stage (``models/model.pt``).
- Iterative train executions each consume the previous one's model (plus features): chains
  of 60–400 models, then a fresh base model starts a new chain.
- Statuses: ~94 % completed, 5 % failed (with an error, no outputs), 1 % running.
- Params per stage (lr, batch_size, epochs, optimizer, seed, …), execution-level metrics
  (accuracy, loss, f1, auc, rows, …), a ``loss`` step series (10–60 steps) on 2 % of
  train executions; Git remote/branch/commits (a pipeline's commit changes now and then),
  5 % dirty; a site per pipeline; 4 environment artifacts (documents of packages that
  differ in a few versions), newer ones used as time goes on.
- ``started_at`` strictly increases from 2024-06-01 (2–60 s apart) and each execution ends
  before the next starts; ids are UUID v7 built from ``started_at``, so id order is time
  order. Artifacts are created when their producer ends (raw ones a day before the start).

Anchors returned in :class:`SyntheticStore`:

- ``deep_artifact``: the last model of the longest fine-tuning chain; its upstream walk has
  nodes at every depth up to ``deep_chain_hops`` (= 2 × models in the chain − 1; the chain's
  first execution is that far). ≥ 100 from a few hundred executions on (200 executions
  with ``pipelines=3`` give it; 20 pipelines need ~1,000).
- ``model_digest``: the model of ``pair[0]``, from a normal pipeline (trace at depth 10).
- ``pair``: two completed executions of the train stage of pipeline ``synth-00`` with
  different params, metrics and input datasets (disjoint if any such pair exists), whose
  lineage diverges upstream.
- ``executions``, ``artifacts``, ``events``, ``metrics``: row counts; ``seconds`` the time
  generation took.
"""

import argparse
import hashlib
import json
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cmf_core.store import Store
from cmf_core.store import schema as s

GENERATOR_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "data"
START_MS = 1_717_200_000_000  # 2024-06-01T00:00:00Z
DAY_MS = 86_400_000
RECENT = 8  # outputs of a stage that the next stage chooses among
ITERATIVE_SHARE = 0.40
STAGE_CHAINS = {
    4: ("prepare", "featurize", "train", "evaluate"),
    5: ("prepare", "split", "featurize", "train", "evaluate"),
    6: ("ingest", "prepare", "split", "featurize", "train", "evaluate"),
}
SITES = ("dc-lyon", "edge-7", "cloud-eu", "laptop-ana")
ERRORS = ("RuntimeError: CUDA out of memory", "ValueError: NaN in loss", "KeyError: 'label'")
BASE_PACKAGES = {"numpy": "1.26.4", "pandas": "2.2.2", "scikit-learn": "1.4.2", "torch": "2.3.0"}
PACKAGE_BUMPS: tuple[dict[str, str], ...] = (
    {},
    {"pandas": "2.2.3"},
    {"torch": "2.4.1", "numpy": "2.0.2"},
    {"torch": "2.5.0"},
)

Pick = tuple[int, str, str]  # (artifact id, digest, path)
Row = dict[str, Any]


@dataclass(frozen=True)
class SyntheticStore:
    """What :func:`generate` made: its parameters, row counts and anchors for benches."""

    url: str
    seed: int
    pipelines: int
    executions: int
    artifacts: int
    events: int
    metrics: int
    deep_artifact: str
    deep_chain_hops: int
    model_digest: str
    pair: tuple[str, str]
    seconds: float
    reused: bool = False


def uuid7(ms: int, rand_a: int, rand_b: int) -> str:
    """A UUID v7 string for a Unix time in ms (RFC 9562: 48-bit ms, 12 + 62 random bits)."""
    value = (ms & (1 << 48) - 1) << 80 | 0x7 << 76 | (rand_a & 0xFFF) << 64
    h = f"{value | 0b10 << 62 | rand_b & (1 << 62) - 1:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass
class _Pipeline:
    name: str
    stage_ids: list[int]
    stage_names: tuple[str, ...]
    iterative: bool
    raw: list[Pick]
    site: str
    commit: str
    pools: list[deque[Pick]]
    chain_model: Pick | None = None
    chain_left: int = 0
    chain_models: int = 0


class _Generator:
    def __init__(self, seed: int, pipelines: int, executions: int) -> None:
        if pipelines < 2:
            raise ValueError("pipelines must be at least 2 (one normal, one iterative).")
        self.rng = random.Random(seed)
        self.n = executions
        self.artifact_rows: list[Row] = []
        self.execution_rows: list[Row] = []
        self.event_rows: list[Row] = []
        self.metric_rows: list[Row] = []
        self.counts = {"artifacts": 0, "events": 0, "metrics": 0}
        self.ms = START_MS
        self.environments = self._environments()
        self.shared_raw = [self._raw(f"data/raw/shared-{k}.parquet") for k in range(6)]
        iterative = {i for i in range(pipelines) if i % 5 == 2} or {pipelines - 1}
        self.pipelines: list[_Pipeline] = []
        stage_id = 0
        for i in range(pipelines):
            names = STAGE_CHAINS[self.rng.choice((4, 5, 6))]
            name = f"synth-{i:02d}"
            raw = [self._raw(f"data/raw/{name}-{k}.csv") for k in range(3)]
            raw += self.rng.sample(self.shared_raw, 2)
            self.pipelines.append(
                _Pipeline(
                    name,
                    [stage_id + 1 + k for k in range(len(names))],
                    names,
                    i in iterative,
                    raw,
                    self.rng.choice(SITES),
                    self._hex(40),
                    [deque(maxlen=RECENT) for _ in names],
                )
            )
            stage_id += len(names)
        share = [
            ITERATIVE_SHARE / len(iterative)
            if p.iterative
            else (1 - ITERATIVE_SHARE) / (pipelines - len(iterative))
            for p in self.pipelines
        ]
        self.pipeline_weights = [sum(share[: i + 1]) for i in range(pipelines)]
        self.pair_candidates: list[tuple[str, dict[str, Any], frozenset[str], str]] = []
        self.deep: tuple[int, str] = (0, "")

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def _artifact(
        self, type: str, ms: int, *, is_dir: bool = False, digest: str = "", **properties: Any
    ) -> Pick:
        self.counts["artifacts"] += 1
        digest = digest or f"md5:{self._hex(32)}" + (".dir" if is_dir else "")
        self.artifact_rows.append(
            {
                "id": self.counts["artifacts"],
                "digest": digest,
                "type": type,
                "size": None if type == "environment" else self.rng.randint(1_000, 2**31),
                "nfiles": self.rng.randint(2, 5_000) if is_dir else None,
                "properties": properties,
                "created_at": _at(ms),
            }
        )
        return (self.counts["artifacts"], digest, "")

    def _raw(self, path: str) -> Pick:
        return (*self._artifact("dataset", START_MS - DAY_MS)[:2], path)

    def _environments(self) -> list[str]:
        """A few environment documents, each differing from the previous in a package or two."""
        digests = []
        packages = {**BASE_PACKAGES, **{f"pkg-{k:02d}": f"1.{k}.0" for k in range(40)}}
        for bump in PACKAGE_BUMPS:
            packages = {**packages, **bump}
            document: dict[str, Any] = {
                "python": {"version": "3.11.7", "implementation": "CPython"},
                "platform": {"system": "Linux", "machine": "x86_64"},
                "packages": packages,
            }
            canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
            digest = f"md5:{hashlib.md5(canonical, usedforsecurity=False).hexdigest()}"
            digests.append(
                self._artifact("environment", START_MS - DAY_MS, digest=digest, **document)[1]
            )
        return digests

    def take_rows(self) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
        taken = (self.artifact_rows, self.execution_rows, self.event_rows, self.metric_rows)
        self.artifact_rows, self.execution_rows, self.event_rows, self.metric_rows = [], [], [], []
        return taken

    # -- one execution -----------------------------------------------------------------------

    def execution(self, index: int) -> None:
        rng = self.rng
        p = rng.choices(self.pipelines, cum_weights=self.pipeline_weights)[0]
        last = len(p.stage_names) - 1
        r = rng.random()
        if p.iterative:
            k = last - 1 if r < 0.85 else last if r < 0.92 else int(rng.random() * (last - 1))
        else:
            k = last - 1 if r < 0.4 else last if r < 0.65 else int(rng.random() * (last - 1))
        while k > 0 and not p.pools[k - 1]:
            k -= 1  # a stage waits for its inputs
        start = self.ms
        gap = rng.randint(2_000, 60_000)
        self.ms += gap
        end = start + int(gap * rng.uniform(0.3, 0.95))
        r = rng.random()
        status = "failed" if r < 0.05 else "running" if r < 0.06 else "completed"
        ended = status != "running"
        execution_id = uuid7(start, rng.getrandbits(12), rng.getrandbits(62))
        stage = p.stage_names[k]
        inputs = self._inputs(p, k, last)
        params = self._params(stage, p.iterative)
        if rng.random() < 0.02:
            p.commit = self._hex(40)
        is_dirty = rng.random() < 0.05
        environment = min(3, index * 4 // self.n - (rng.random() < 0.2))
        self.execution_rows.append(
            {
                "id": execution_id,
                "stage_id": p.stage_ids[k],
                "status": status,
                "started_at": _at(start),
                "ended_at": _at(end) if ended else None,
                "command": f"python {stage}.py",
                "params": params,
                "properties": {},
                "error": rng.choice(ERRORS) if status == "failed" else None,
                "site": p.site,
                "git_remote": f"https://github.com/example/{p.name}.git",
                "git_branch": "main",
                "git_commit_start": p.commit,
                "git_commit_end": p.commit if ended else None,
                "git_is_dirty": is_dirty,
                "git_diff_digest": f"md5:{self._hex(32)}" if is_dirty else None,
                "environment_digest": self.environments[max(0, environment)],
            }
        )
        for artifact_id, _, path in inputs:
            self._event(execution_id, artifact_id, "input", path, start)
        outputs = self._outputs(p, k, last, end) if status == "completed" else []
        for artifact_id, _, path in outputs:
            self._event(execution_id, artifact_id, "output", path, end)
        if status != "running":
            self._metrics(execution_id, stage, status, end)
        if k == last - 1 and p.name == "synth-00" and status == "completed":
            digests = frozenset(d for _, d, _ in inputs)
            self.pair_candidates.append((execution_id, params, digests, outputs[0][1]))
            del self.pair_candidates[:-64]

    def _event(
        self, execution_id: str, artifact_id: int, direction: str, path: str, ms: int
    ) -> None:
        self.counts["events"] += 1
        self.event_rows.append(
            {
                "execution_id": execution_id,
                "artifact_id": artifact_id,
                "direction": direction,
                "path": path,
                "created_at": _at(ms),
            }
        )

    def _inputs(self, p: _Pipeline, k: int, last: int) -> list[Pick]:
        rng = self.rng
        count = 1 if (r := rng.random()) < 0.5 else 2 if r < 0.85 else 3
        if k == 0:
            return rng.sample(p.raw, min(count, 2))
        if k == last:  # evaluate: a recent model and a featurize output
            return [rng.choice(p.pools[k - 1]), rng.choice(p.pools[k - 2])]
        picks = rng.sample(p.pools[k - 1], min(count, len(p.pools[k - 1])))
        if p.iterative and k == last - 1:
            if p.chain_model is not None and p.chain_left > 0:
                return [p.chain_model, picks[0]]
            p.chain_model, p.chain_left, p.chain_models = None, rng.randint(60, 400), 0
        return picks

    def _outputs(self, p: _Pipeline, k: int, last: int, ms: int) -> list[Pick]:
        stage = p.stage_names[k]
        extra = self.rng.random() < 0.3
        if k == last:
            outputs = [(*self._artifact("metrics", ms)[:2], "metrics/eval.json")]
        elif k == last - 1:
            outputs = [(*self._artifact("model", ms, framework="torch")[:2], "models/model.pt")]
            if extra:
                outputs.append((*self._artifact("metrics", ms)[:2], "reports/train.json"))
            if p.iterative:
                p.chain_model, p.chain_left = outputs[0], p.chain_left - 1
                p.chain_models += 1
                self.deep = max(self.deep, (p.chain_models, outputs[0][1]))
        else:
            is_dir = stage == "featurize"
            path = "data/features" if is_dir else f"data/{stage}.parquet"
            outputs = [(*self._artifact("dataset", ms, is_dir=is_dir)[:2], path)]
            if extra and not is_dir:
                outputs.append((*self._artifact("dataset", ms)[:2], f"data/{stage}-extra.parquet"))
        p.pools[k].append(outputs[0])
        return outputs

    def _params(self, stage: str, iterative: bool) -> dict[str, Any]:
        rng = self.rng
        if stage == "train":
            params: dict[str, Any] = {
                "lr": round(10 ** rng.uniform(-4.5, -1.5), 6),
                "batch_size": rng.choice((16, 32, 64, 128, 256)),
                "epochs": rng.randint(5, 50),
                "optimizer": rng.choice(("adam", "adamw", "sgd")),
                "seed": rng.getrandbits(31),
            }
            return {**params, "warm_start": True} if iterative else params
        if stage == "evaluate":
            return {"threshold": round(rng.uniform(0.3, 0.7), 2), "split": "test"}
        if stage == "featurize":
            return {
                "n_features": rng.choice((32, 64, 128, 256)),
                "scaler": rng.choice(("std", "minmax")),
            }
        return {"sample_rate": round(rng.uniform(0.1, 1.0), 2), "seed": rng.getrandbits(31)}

    def _metrics(self, execution_id: str, stage: str, status: str, ms: int) -> None:
        rng, at = self.rng, ms / 1000
        if stage == "train":
            values = {"accuracy": rng.uniform(0.6, 0.98), "loss": rng.uniform(0.05, 1.5)}
            if status == "completed" and rng.random() < 0.02:
                loss = rng.uniform(1.5, 3.0)
                for step in range(rng.randint(10, 60)):
                    loss *= rng.uniform(0.9, 1.01)
                    self._metric(execution_id, "loss", step, loss, at - 60 + step)
        elif stage == "evaluate":
            values = {
                "accuracy": rng.uniform(0.6, 0.98),
                "f1": rng.uniform(0.5, 0.95),
                "auc": rng.uniform(0.6, 0.99),
            }
        else:
            values = {"rows": float(rng.randint(1_000, 50_000_000)), "seconds": rng.uniform(1, 900)}
        if status == "failed":
            values = dict(list(values.items())[:1])
        for name, value in values.items():
            self._metric(execution_id, name, None, value, at)

    def _metric(
        self, execution_id: str, name: str, step: int | None, value: float, at: float
    ) -> None:
        self.counts["metrics"] += 1
        self.metric_rows.append(
            {"execution_id": execution_id, "name": name, "step": step, "value": value, "time": at}
        )

    def pair(self) -> tuple[str, str, str]:
        """Two train executions of synth-00 with different inputs, and the first one's model."""
        if len(self.pair_candidates) < 2:
            raise ValueError(
                "Too few train executions in synth-00 for a comparable pair; "
                "generate more executions or fewer pipelines."
            )
        first, params, inputs, model = self.pair_candidates[-1]
        others = [c for c in reversed(self.pair_candidates[:-1]) if c[1] != params]
        disjoint = [c for c in others if not c[2] & inputs]
        different = [c for c in others if c[2] != inputs]
        second = (disjoint or different or others or self.pair_candidates[:1])[0]
        return first, second[0], model


def generate(
    url: str,
    *,
    executions: int,
    seed: int = 0,
    pipelines: int = 20,
    batch: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> SyntheticStore:
    """Write a synthetic store of ``executions`` executions at ``url``, which must be empty."""
    started = time.perf_counter()
    gen = _Generator(seed, pipelines, executions)
    with Store(url) as store:
        if store.count("executions") or store.count("pipelines"):
            raise ValueError(f"{store.display_url} is not empty; generate into a new store.")
        engine = store._engine  # a bench tool may write the tables directly (module docstring)
        is_sqlite = engine.dialect.name == "sqlite"
        with engine.connect() as conn:
            conn.execution_options(cmf_write=True)
            if is_sqlite:  # on the driver's connection: a PRAGMA must run outside a transaction
                _pragma(conn, "synchronous=OFF", "cache_size=-262144")
            created = _at(START_MS - DAY_MS)
            with conn.begin():
                conn.execute(
                    s.pipelines.insert(),
                    [
                        {
                            "id": i + 1,
                            "name": p.name,
                            "created_at": created,
                            "properties": {"synthetic": True, "iterative": p.iterative},
                        }
                        for i, p in enumerate(gen.pipelines)
                    ],
                )
                conn.execute(
                    s.stages.insert(),
                    [
                        {
                            "id": sid,
                            "pipeline_id": i + 1,
                            "name": name,
                            "properties": {},
                            "created_at": created,
                        }
                        for i, p in enumerate(gen.pipelines)
                        for sid, name in zip(p.stage_ids, p.stage_names, strict=True)
                    ],
                )
            for index in range(executions):
                gen.execution(index)
                if (index + 1) % batch == 0 or index + 1 == executions:
                    _insert(conn, gen.take_rows())
                    if progress is not None:
                        progress(index + 1)
            if is_sqlite:
                _pragma(conn, "synchronous=NORMAL", "cache_size=-2000")
            else:
                with conn.begin():
                    for table in ("pipelines", "stages", "artifacts"):
                        conn.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    # The store's own tables only: a database holding many stores (one
                    # schema each) would otherwise need a lock per table of all of them.
                    tables = ", ".join(t.name for t in s.metadata.sorted_tables)
                    conn.exec_driver_sql(f"ANALYZE {tables}")
        first, second, model = gen.pair()
    return SyntheticStore(
        url=url,
        seed=seed,
        pipelines=pipelines,
        executions=executions,
        deep_artifact=gen.deep[1],
        deep_chain_hops=2 * gen.deep[0] - 1,
        model_digest=model,
        pair=(first, second),
        seconds=round(time.perf_counter() - started, 2),
        artifacts=gen.counts["artifacts"],
        events=gen.counts["events"],
        metrics=gen.counts["metrics"],
    )


def _pragma(conn: Any, *pragmas: str) -> None:
    for pragma in pragmas:
        conn.connection.driver_connection.execute(f"PRAGMA {pragma}")


def _insert(conn: Any, rows: tuple[list[Row], list[Row], list[Row], list[Row]]) -> None:
    with conn.begin():
        for table, values in zip(
            (s.artifacts, s.executions, s.events, s.metrics), rows, strict=True
        ):
            if values:
                conn.execute(table.insert(), values)


# -- reuse: a sidecar JSON next to the store ---------------------------------------------------


def default_url(executions: int, seed: int = 0, pipelines: int = 20) -> str:
    return f"sqlite:///{DATA_DIR / f'synthetic-n{executions}-s{seed}-p{pipelines}.db'}"


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return Path(parsed.database or "") if parsed.get_backend_name() == "sqlite" else None


def _sidecar(url: str) -> Path:
    from sqlalchemy.engine import make_url

    path = _sqlite_file(url)
    if path is not None:
        return path.with_name(path.name + ".json")
    parsed = make_url(url)
    return DATA_DIR / f"{parsed.host}-{parsed.port or 5432}-{parsed.database}.json"


def ensure(
    url: str | None = None,
    *,
    executions: int,
    seed: int = 0,
    pipelines: int = 20,
    force: bool = False,
    batch: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> SyntheticStore:
    """The store at ``url`` (default :func:`default_url`), generated unless already there."""
    url = url or default_url(executions, seed, pipelines)
    sidecar, path = _sidecar(url), _sqlite_file(url)
    wanted = {
        "version": GENERATOR_VERSION,
        "executions": executions,
        "seed": seed,
        "pipelines": pipelines,
    }
    recorded = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    exists = path.exists() if path is not None else _has_tables(url)
    if exists and not force and recorded.get("parameters") == wanted:
        store = SyntheticStore(**{**recorded["store"], "pair": tuple(recorded["store"]["pair"])})
        return replace(store, reused=True)
    if exists and not force and not recorded:
        raise ValueError(
            f"{url} exists and was not made by synthetic.py; use --force or a new URL."
        )
    sidecar.unlink(missing_ok=True)
    if exists and path is not None:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    elif exists:
        _drop_tables(url)
    store = generate(
        url, executions=executions, seed=seed, pipelines=pipelines, batch=batch, progress=progress
    )
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_text(json.dumps({"parameters": wanted, "store": asdict(store)}, indent=2))
    return store


def _has_tables(url: str) -> bool:
    with Store(url) as store:
        return bool(store.count("pipelines"))


def _drop_tables(url: str) -> None:
    with Store(url) as store, store._engine.begin() as conn:
        s.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def postgres_url(base: str, executions: int) -> str:
    """The URL of the database the synthetic store of ``executions`` lives in on the server
    ``base`` names (``cmf_synthetic_n<N>_s0_p20``), created empty if missing; benches share it."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"cmf_synthetic_n{executions}_s0_p20"
    admin = make_url(base).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )


def drop_postgres(base: str, url: str) -> None:
    """Drop the database of ``url`` on the server ``base`` names."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    admin = make_url(base).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def each_backend(
    executions: int,
    measure: Callable[[str, SyntheticStore], dict[str, Any]],
    *,
    quick: bool,
    drop: bool = False,
) -> dict[str, Any]:
    """``measure(url, store)`` on the synthetic store of ``executions``, by backend: SQLite
    (``bench/data/``, or a temporary file when ``quick``), then PostgreSQL when
    ``CMF_TEST_POSTGRES_URL`` names a server (the database kept for the next bench unless
    ``quick`` or ``drop``), or why it was skipped."""
    import os
    import sys
    import tempfile

    def progress(done: int) -> None:
        print(f"generating: {done:,}/{executions:,} executions", file=sys.stderr)

    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'quick.db'}" if quick else None
        made = ensure(url, executions=executions, progress=progress)
        found["sqlite"] = measure(made.url, made)
    base = os.environ.get("CMF_TEST_POSTGRES_URL")
    if not base:
        found["postgresql"] = "skipped: CMF_TEST_POSTGRES_URL is not set"
        return found
    pg = postgres_url(base, executions)
    try:
        found["postgresql"] = measure(pg, ensure(pg, executions=executions, progress=progress))
    finally:
        if quick or drop:
            drop_postgres(base, pg)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--url", help="store URL (default: a SQLite file under bench/data/)")
    parser.add_argument("--executions", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pipelines", type=int, default=20)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--force", action="store_true", help="regenerate even if already there")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def report(done: int) -> None:
        rate = done / (time.perf_counter() - started)
        print(f"{done:,}/{args.executions:,} executions ({rate:,.0f}/s)", file=sys.stderr)

    store = ensure(
        args.url,
        executions=args.executions,
        seed=args.seed,
        pipelines=args.pipelines,
        force=args.force,
        batch=args.batch,
        progress=report,
    )
    print(json.dumps(asdict(store), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
