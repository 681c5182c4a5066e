"""Write a synthetic cmflib mlmd file: ML Metadata's SQLite schema, cmflib's properties.

The tables and indexes are ML Metadata 1.15's (schema version 10), as cmflib
0.1 creates them; the rows are what cmflib writes (see ``cmflib/cmf.py``):
one ``Parent_Context`` per pipeline, ``Pipeline_Stage`` children named
``<pipeline>/<stage>``, and per run of a pipeline three executions —

- prepare: inputs the environment and one of ten raw datasets, outputs a
  prepared dataset directory (a ``.dir`` digest);
- train: inputs the environment and that directory, outputs a model, a
  ``Step_Metrics`` file and a ``Metrics`` artifact (uuid uri, values as custom
  properties);
- evaluate: inputs the environment, the model and the directory, outputs a
  ``Metrics`` artifact —

each with cmflib's ten execution properties (``Execution_uuid``,
``Git_Repo``, ``Git_Start_Commit``, …) and custom properties as cmflib's
``update_execution`` leaves them (floats as text). Values derive from
``--seed``, so a file is reproducible.

    .venv/bin/python bench/synthetic_mlmd.py OUT --executions 10000 [--pipelines 1] [--seed 0]
"""

import argparse
import hashlib
import random
import sqlite3
import uuid
from pathlib import Path

SCHEMA = """
CREATE TABLE `Type` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `name` VARCHAR(255) NOT NULL,
  `version` VARCHAR(255), `type_kind` TINYINT(1) NOT NULL, `description` TEXT,
  `input_type` TEXT, `output_type` TEXT, `external_id` VARCHAR(255) UNIQUE);
CREATE TABLE `TypeProperty` (`type_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL,
  `data_type` INT NULL, PRIMARY KEY (`type_id`, `name`));
CREATE TABLE `ParentType` (`type_id` INT NOT NULL, `parent_type_id` INT NOT NULL,
  PRIMARY KEY (`type_id`, `parent_type_id`));
CREATE TABLE `Artifact` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL,
  `uri` TEXT, `state` INT, `name` VARCHAR(255), `external_id` VARCHAR(255) UNIQUE,
  `create_time_since_epoch` INT NOT NULL DEFAULT 0,
  `last_update_time_since_epoch` INT NOT NULL DEFAULT 0, UNIQUE(`type_id`, `name`));
CREATE TABLE `ArtifactProperty` (`artifact_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL,
  `is_custom_property` TINYINT(1) NOT NULL, `int_value` INT, `double_value` DOUBLE,
  `string_value` TEXT, `byte_value` BLOB, `proto_value` BLOB, `bool_value` BOOLEAN,
  PRIMARY KEY (`artifact_id`, `name`, `is_custom_property`));
CREATE TABLE `Execution` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL,
  `last_known_state` INT, `name` VARCHAR(255), `external_id` VARCHAR(255) UNIQUE,
  `create_time_since_epoch` INT NOT NULL DEFAULT 0,
  `last_update_time_since_epoch` INT NOT NULL DEFAULT 0, UNIQUE(`type_id`, `name`));
CREATE TABLE `ExecutionProperty` (`execution_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL,
  `is_custom_property` TINYINT(1) NOT NULL, `int_value` INT, `double_value` DOUBLE,
  `string_value` TEXT, `byte_value` BLOB, `proto_value` BLOB, `bool_value` BOOLEAN,
  PRIMARY KEY (`execution_id`, `name`, `is_custom_property`));
CREATE TABLE `Event` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `artifact_id` INT NOT NULL,
  `execution_id` INT NOT NULL, `type` INT NOT NULL, `milliseconds_since_epoch` INT,
  UNIQUE(`artifact_id`, `execution_id`, `type`));
CREATE TABLE `EventPath` (`event_id` INT NOT NULL, `is_index_step` TINYINT(1) NOT NULL,
  `step_index` INT, `step_key` TEXT);
CREATE TABLE `MLMDEnv` (`schema_version` INTEGER PRIMARY KEY);
CREATE TABLE `Context` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL,
  `name` VARCHAR(255) NOT NULL, `external_id` VARCHAR(255) UNIQUE,
  `create_time_since_epoch` INT NOT NULL DEFAULT 0,
  `last_update_time_since_epoch` INT NOT NULL DEFAULT 0, UNIQUE(`type_id`, `name`));
CREATE TABLE `ContextProperty` (`context_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL,
  `is_custom_property` TINYINT(1) NOT NULL, `int_value` INT, `double_value` DOUBLE,
  `string_value` TEXT, `byte_value` BLOB, `proto_value` BLOB, `bool_value` BOOLEAN,
  PRIMARY KEY (`context_id`, `name`, `is_custom_property`));
CREATE TABLE `ParentContext` (`context_id` INT NOT NULL, `parent_context_id` INT NOT NULL,
  PRIMARY KEY (`context_id`, `parent_context_id`));
CREATE TABLE `Association` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `context_id` INT NOT NULL,
  `execution_id` INT NOT NULL, UNIQUE(`context_id`, `execution_id`));
CREATE TABLE `Attribution` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `context_id` INT NOT NULL,
  `artifact_id` INT NOT NULL, UNIQUE(`context_id`, `artifact_id`));
CREATE INDEX `idx_artifact_uri` ON `Artifact`(`uri`);
CREATE INDEX `idx_artifact_create_time_since_epoch` ON `Artifact`(`create_time_since_epoch`);
CREATE INDEX `idx_event_execution_id` ON `Event`(`execution_id`);
CREATE INDEX `idx_parentcontext_parent_context_id` ON `ParentContext`(`parent_context_id`);
CREATE INDEX `idx_type_name` ON `Type`(`name`);
CREATE INDEX `idx_execution_create_time_since_epoch` ON `Execution`(`create_time_since_epoch`);
CREATE INDEX `idx_eventpath_event_id` ON `EventPath`(`event_id`);
CREATE INDEX `idx_artifact_property_string` ON `ArtifactProperty`(`name`,
  `is_custom_property`, `string_value`) WHERE `string_value` IS NOT NULL;
CREATE INDEX `idx_execution_property_string` ON `ExecutionProperty`(`name`,
  `is_custom_property`, `string_value`) WHERE `string_value` IS NOT NULL;
INSERT INTO MLMDEnv (schema_version) VALUES (10);
"""
TYPES = [  # (name, kind): ML Metadata's own types, then the ones cmflib adds
    ("mlmd.Dataset", 1), ("mlmd.Model", 1), ("mlmd.Metrics", 1), ("mlmd.Statistics", 1),
    ("mlmd.Train", 0), ("mlmd.Transform", 0), ("mlmd.Process", 0), ("mlmd.Evaluate", 0),
    ("mlmd.Deploy", 0), ("Parent_Context", 2), ("Pipeline_Stage", 2), ("prepare", 0),
    ("Environment", 1), ("Dataset", 1), ("train", 0), ("Step_Metrics", 1), ("Model", 1),
    ("Metrics", 1), ("evaluate", 0),
]  # fmt: skip
STAGES = ("prepare", "train", "evaluate")
INPUT, OUTPUT = 3, 4
START_MS = 1_767_225_600_000  # 2026-01-01


class Writer:
    def __init__(self, conn: sqlite3.Connection, rng: random.Random) -> None:
        self.conn, self.rng = conn, rng
        self.type_ids = {name: i for i, (name, _) in enumerate(TYPES, 1)}
        self.rows: dict[str, list[tuple[object, ...]]] = {
            "Artifact": [], "ArtifactProperty": [], "Execution": [], "ExecutionProperty": [],
            "Event": [], "EventPath": [], "Association": [], "Attribution": [],
        }  # fmt: skip
        self.next = {"Artifact": 1, "Execution": 1, "Event": 1}
        self.clock = START_MS

    def tick(self, ms: int = 700) -> int:
        self.clock += ms + self.rng.randrange(ms)
        return self.clock

    def digest(self, *parts: object) -> str:
        return hashlib.md5(repr(parts).encode()).hexdigest()

    def artifact(
        self, type_name: str, uri: str, name: str, properties: dict[str, object],
        custom: dict[str, object], context: int,
    ) -> int:  # fmt: skip
        artifact_id = self.next["Artifact"]
        self.next["Artifact"] += 1
        at = self.tick(50)
        self.rows["Artifact"].append(
            (artifact_id, self.type_ids[type_name], uri, None, name, None, at, at)
        )
        for is_custom, values in ((0, properties), (1, custom)):
            for key, value in values.items():
                self.rows["ArtifactProperty"].append((artifact_id, key, is_custom, *typed(value)))
        self.rows["Attribution"].append((None, context, artifact_id))
        return artifact_id

    def event(self, artifact_id: int, execution_id: int, kind: int, path: str | None) -> None:
        event_id = self.next["Event"]
        self.next["Event"] += 1
        self.rows["Event"].append((event_id, artifact_id, execution_id, kind, self.tick(20)))
        if path is not None:
            self.rows["EventPath"].append((event_id, 0, None, path))

    def execution(
        self, stage: str, context: int, pipeline: str, pipeline_id: int,
        command: str, custom: dict[str, object],
    ) -> tuple[int, str]:  # fmt: skip
        execution_id = self.next["Execution"]
        self.next["Execution"] += 1
        started = self.tick(2000)
        run_uuid = str(uuid.UUID(int=self.rng.getrandbits(128), version=1))
        self.rows["Execution"].append(
            (execution_id, self.type_ids[stage], None, None, None, started, started + 1500)
        )
        properties = {
            "Context_ID": context, "Context_Type": f"{pipeline}/{stage}",
            "Execution": command, "Execution_type_name": f"{pipeline}/{stage}",
            "Execution_uuid": run_uuid, "Git_End_Commit": "",
            "Git_Repo": "https://github.com/team/ml-pipeline.git",
            "Git_Start_Commit": self.digest("commit", execution_id) + "01234567",
            "Pipeline_id": pipeline_id, "Pipeline_Type": pipeline,
        }  # fmt: skip
        for is_custom, values in ((0, properties), (1, custom)):
            for key, value in values.items():
                self.rows["ExecutionProperty"].append((execution_id, key, is_custom, *typed(value)))
        self.rows["Association"].append((None, context, execution_id))
        return execution_id, run_uuid

    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                self.conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                rows.clear()


def typed(value: object) -> tuple[object, object, object, None, None, None]:
    """(int_value, double_value, string_value, byte, proto, bool) as cmflib stores a value."""
    if isinstance(value, int):
        return (value, None, None, None, None, None)
    if isinstance(value, float):
        return (None, value, None, None, None, None)
    return (None, None, str(value), None, None, None)


def write_mlmd(path: Path, *, executions: int, pipelines: int = 1, seed: int = 0) -> Path:
    """Write ``path`` (replaced if it exists) with about ``executions`` executions."""
    path.unlink(missing_ok=True)
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.executemany(
        "INSERT INTO Type (id, name, type_kind) VALUES (?, ?, ?)",
        [(i, name, kind) for i, (name, kind) in enumerate(TYPES, 1)],
    )
    writer = Writer(conn, rng)
    context_id = 0
    plans = []
    for p in range(pipelines):
        name = f"pipeline-{p:02d}"
        context_id += 1
        pipeline_id = context_id
        conn.execute("INSERT INTO Context VALUES (?, 10, ?, NULL, ?, ?)", (
            pipeline_id, name, START_MS, START_MS))  # fmt: skip
        conn.execute("INSERT INTO ContextProperty VALUES (?, 'Pipeline', 0, NULL, NULL, ?, "
                     "NULL, NULL, NULL)", (pipeline_id, name))  # fmt: skip
        stage_ids = {}
        for stage in STAGES:
            context_id += 1
            stage_ids[stage] = context_id
            conn.execute("INSERT INTO Context VALUES (?, 11, ?, NULL, ?, ?)", (
                context_id, f"{name}/{stage}", START_MS, START_MS))  # fmt: skip
            conn.execute("INSERT INTO ParentContext VALUES (?, ?)", (context_id, pipeline_id))
        plans.append((name, pipeline_id, stage_ids))
    env_uri = writer.digest("environment")
    env = writer.artifact(
        "Environment", env_uri, f"cmf_artifacts/python_env_{env_uri}.txt:{env_uri}",
        {"git_repo": "https://github.com/team/ml-pipeline.git", "Commit": env_uri,
         "url": f"s3://team-bucket/files/md5/{env_uri[:2]}/{env_uri[2:]}"}, {},
        plans[0][2]["prepare"],
    )  # fmt: skip
    raws = []
    for r in range(10):
        uri = writer.digest("raw", r)
        raws.append((writer.artifact(
            "Dataset", uri, f"data/raw-{r}.csv:{uri}",
            {"git_repo": "https://github.com/team/ml-pipeline.git", "Commit": uri,
             "url": f"s3://team-bucket/files/md5/{uri[:2]}/{uri[2:]}"}, {"source": "survey"},
            plans[0][2]["prepare"],
        ), uri, f"data/raw-{r}.csv"))  # fmt: skip
    runs = max(1, executions // 3)
    for run in range(runs):
        name, pipeline_id, stage_ids = plans[run % len(plans)]
        _one_run(writer, run, name, pipeline_id, stage_ids, env, env_uri, raws)
        if run % 500 == 499:
            writer.flush()
    writer.flush()
    conn.commit()
    conn.close()
    return path


def _one_run(
    w: Writer, run: int, pipeline: str, pipeline_id: int, stages: dict[str, int],
    env: int, env_uri: str, raws: list[tuple[int, str, str]],
) -> None:  # fmt: skip
    env_path = f"cmf_artifacts/python_env_{env_uri}.txt:{env_uri}"
    raw, raw_uri, raw_path = raws[run % len(raws)]
    seed = w.rng.randrange(1000)
    prep, prep_uuid = w.execution(
        "prepare", stages["prepare"], pipeline, pipeline_id,
        f"python src/prepare.py {raw_path} data/prepared", {"split": "0.2", "seed": seed},
    )  # fmt: skip
    w.event(env, prep, INPUT, env_path)
    w.event(raw, prep, INPUT, f"{raw_path}:{raw_uri}")
    prep_uri = w.digest("prepared", run) + ".dir"
    prepared = w.artifact("Dataset", prep_uri, f"data/prepared:{prep_uri}", {
        "git_repo": "https://github.com/team/ml-pipeline.git", "Commit": prep_uri,
        "url": f"{pipeline}:s3://team-bucket/files/md5/{prep_uri[:2]}/{prep_uri[2:]}"}, {},
        stages["prepare"])  # fmt: skip
    w.event(prepared, prep, OUTPUT, None)

    lr = round(w.rng.uniform(0.0001, 0.1), 5)
    train, train_uuid = w.execution(
        "train", stages["train"], pipeline, pipeline_id,
        "python src/train.py data/prepared models/model.pkl",
        {"learning_rate": str(lr), "epochs": 10, "optimizer": "adam",
         "Python_Env": env_path.split(":")[0]},
    )  # fmt: skip
    w.event(env, train, INPUT, env_path)
    w.event(prepared, train, INPUT, f"data/prepared:{prep_uri}")
    steps_uri = w.digest("steps", run)
    steps = w.artifact(
        "Step_Metrics", steps_uri,
        f"cmf_artifacts/{train_uuid}/metrics/training_metrics:{steps_uri}:{train}:{train_uuid}",
        {"Commit": steps_uri, "url": f"{pipeline}:s3://team-bucket/{steps_uri}"}, {},
        stages["train"],
    )  # fmt: skip
    w.event(steps, train, OUTPUT, None)
    model_uri = w.digest("model", run)
    model = w.artifact("Model", model_uri, f"models/model.pkl:{model_uri}:{train}", {
        "model_framework": "sklearn", "model_type": "RandomForestClassifier",
        "model_name": "forest", "Commit": model_uri,
        "url": f"{pipeline}:s3://team-bucket/files/md5/{model_uri[:2]}/{model_uri[2:]}"}, {},
        stages["train"])  # fmt: skip
    w.event(model, train, OUTPUT, None)
    summary_uuid = str(uuid.UUID(int=w.rng.getrandbits(128), version=1))
    metrics = w.artifact("Metrics", summary_uuid, f"training_summary:{summary_uuid}:{train}",
        {"metrics_name": f"training_summary:{summary_uuid}:{train}"},
        {"train_loss": w.rng.random(), "n_trees": 100}, stages["train"])  # fmt: skip
    w.event(metrics, train, OUTPUT, None)

    evaluate, _ = w.execution(
        "evaluate", stages["evaluate"], pipeline, pipeline_id,
        "python src/evaluate.py models/model.pkl data/prepared", {"threshold": "0.5"},
    )  # fmt: skip
    w.event(env, evaluate, INPUT, env_path)
    w.event(model, evaluate, INPUT, f"models/model.pkl:{model_uri}")
    w.event(prepared, evaluate, INPUT, f"data/prepared:{prep_uri}")
    eval_uuid = str(uuid.UUID(int=w.rng.getrandbits(128), version=1))
    scores = w.artifact("Metrics", eval_uuid, f"evaluation:{eval_uuid}:{evaluate}",
        {"metrics_name": f"evaluation:{eval_uuid}:{evaluate}"},
        {"accuracy": w.rng.random(), "auc": w.rng.random()}, stages["evaluate"])  # fmt: skip
    w.event(scores, evaluate, OUTPUT, None)
    del prep_uuid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--pipelines", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_mlmd(args.out, executions=args.executions, pipelines=args.pipelines, seed=args.seed)
    print(args.out)


if __name__ == "__main__":
    main()
