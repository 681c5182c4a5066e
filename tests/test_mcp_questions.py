"""Everyday questions an assistant is asked, each answered in one or two tool calls.

The store is recorded through the MCP tools only (two pipelines, seven stages, eighteen
executions, a failed run, a re-run with new params, directory datasets, step metrics,
the same bytes under a second name). Each question names its tool plan; the answer
must be in the plan's results, and every result within the output budget.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from mcp_support import SyncClient, connect, make_server, text, write

from cmf_mcp.mcp.output.schemas import STRUCTURED_BUDGET, TEXT_BUDGET


class Asked:
    """A client that counts calls and checks each answer's size."""

    def __init__(self, client: SyncClient) -> None:
        self.client, self.calls = client, 0

    def ask(self, name: str, arguments: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
        self.calls += 1
        result = self.client.call(name, arguments or {})
        shown = text(result)
        assert not result.is_error, shown
        assert result.structured_content is not None
        assert len(shown) <= TEXT_BUDGET + 200
        assert len(json.dumps(result.structured_content)) <= STRUCTURED_BUDGET
        return result.structured_content, shown


def run_stage(
    client: SyncClient,
    pipeline: str,
    stage: str,
    *,
    inputs: list[str],
    outputs: dict[str, str],
    params: dict[str, Any] | None = None,
    curve: list[float] | None = None,
    final: dict[str, float] | None = None,
    fail: str | None = None,
) -> str:
    run = client.ok("start_execution", {"pipeline": pipeline, "stage": stage, "params": params})
    run_id = str(run["execution_id"])
    for path in inputs:
        kind = "model" if path.endswith((".pkl", ".bin")) else "dataset"
        client.ok(
            "log_artifact", {"execution_id": run_id, "path": path, "event": "input", "type": kind}
        )
    for path, kind in outputs.items():
        client.ok(
            "log_artifact",
            {"execution_id": run_id, "path": path, "event": "output", "type": kind},
        )
    if curve:
        steps = [{"step": i, "values": {"val_loss": v}} for i, v in enumerate(curve)]
        client.ok("log_metrics", {"execution_id": run_id, "steps": steps})
    if final:
        client.ok("log_metrics", {"execution_id": run_id, "metrics": final})
    ended = {"execution_id": run_id}
    if fail:
        ended |= {"status": "failed", "error": fail}
    client.ok("end_execution", ended)
    return run_id


@pytest.fixture
def recorded(bare_project: Path, sqlite_url: str) -> Any:
    root = bare_project
    for n in range(3):
        write(root / "raw" / f"part{n}.csv", f"id,amount\n{n},1\n")
    server = make_server(sqlite_url)
    runs: dict[str, str] = {}
    with connect(server) as client:
        write(root / "data" / "clean" / "a.csv", "id,amount\n0,1\n")
        write(root / "data" / "clean" / "b.csv", "id,amount\n1,1\n")
        runs["prep1"] = run_stage(
            client, "fraud", "prepare", inputs=["raw"], outputs={"data/clean": "dataset"}
        )
        for lr, acc in ((0.1, 0.71), (0.01, 0.88), (0.001, 0.80)):
            write(root / "models" / "model.pkl", f"weights lr={lr}")
            curve = [1.0 / (1 + step * lr * 10) for step in range(20)]
            runs[f"train{lr}"] = run_stage(
                client,
                "fraud",
                "train",
                inputs=["data/clean"],
                outputs={"models/model.pkl": "model"},
                params={"lr": lr, "epochs": 20},
                curve=curve,
                final={"acc": acc},
            )
        runs["failed"] = run_stage(
            client,
            "fraud",
            "train",
            inputs=["data/clean"],
            outputs={},
            params={"lr": 1.0, "epochs": 20},
            fail="loss became NaN at step 3",
        )
        write(root / "models" / "model.pkl", "weights lr=0.01")  # the best one, kept
        write(root / "reports" / "eval.json", '{"f1": 0.84}')
        runs["evaluate"] = run_stage(
            client,
            "fraud",
            "evaluate",
            inputs=["models/model.pkl"],
            outputs={"reports/eval.json": "metrics"},
            final={"f1": 0.84},
        )
        shutil.copy(root / "models" / "model.pkl", root / "export.pkl")
        runs["export"] = run_stage(
            client,
            "fraud",
            "evaluate",
            inputs=["models/model.pkl"],
            outputs={"export.pkl": "model"},
        )
        write(root / "raw" / "part3.csv", "id,amount\n3,9\n")  # new raw data: a re-run
        write(root / "data" / "clean" / "c.csv", "id,amount\n3,9\n")
        runs["prep2"] = run_stage(
            client, "fraud", "prepare", inputs=["raw"], outputs={"data/clean": "dataset"}
        )
        write(root / "models" / "model.pkl", "weights lr=0.02 on new data")
        runs["retrain"] = run_stage(
            client,
            "fraud",
            "train",
            inputs=["data/clean"],
            outputs={"models/model.pkl": "model"},
            params={"lr": 0.02, "epochs": 20},
            curve=[1.0 / (1 + step * 0.2) for step in range(20)],
            final={"acc": 0.9},
        )
        runs["evaluate2"] = run_stage(
            client, "fraud", "evaluate", inputs=["models/model.pkl"], outputs={}, final={"f1": 0.86}
        )
        for n in range(2):  # a second pipeline of four stages, twice
            write(root / "churn" / "events.csv", f"user,event\n{n},login\n")
            write(root / "churn" / "features.parquet", f"features {n}")
            write(root / "churn" / "model.bin", f"churn model {n}")
            write(root / "churn" / "scores.csv", f"user,score\n{n},0.5\n")
            run_stage(client, "churn", "ingest", inputs=[], outputs={"churn/events.csv": "dataset"})
            run_stage(
                client,
                "churn",
                "features",
                inputs=["churn/events.csv"],
                outputs={"churn/features.parquet": "dataset"},
            )
            run_stage(
                client,
                "churn",
                "fit",
                inputs=["churn/features.parquet"],
                outputs={"churn/model.bin": "model"},
                params={"depth": 4 + n},
                final={"auc": 0.7 + n / 10},
            )
            run_stage(
                client,
                "churn",
                "score",
                inputs=["churn/model.bin"],
                outputs={"churn/scores.csv": "dataset"},
            )
        with connect(server) as asking:
            yield Asked(asking), runs
    server.close()


def test_fourteen_everyday_questions_each_take_one_or_two_calls(recorded: Any) -> None:
    asked, runs = recorded

    # 1. What is in the store? — one call: pipelines, stages and runs per stage.
    listing, _ = asked.ask("list_pipelines")
    by_name = {p["name"]: p for p in listing["items"]}
    assert set(by_name) == {"fraud", "churn"}
    assert by_name["fraud"]["stage_executions"] == {"prepare": 2, "train": 5, "evaluate": 3}
    assert sum(p["executions"] for p in by_name.values()) == 18

    # 2. Which learning rates did I try, and which was best? — one call, sorted by the metric.
    page, shown = asked.ask(
        "search_executions", {"stage": "train", "status": "completed", "sort": "-metrics.acc"}
    )
    assert [e["params"]["lr"] for e in page["items"]] == [0.02, 0.01, 0.001, 0.1]
    assert page["items"][0]["metrics"]["acc"] == 0.9 and "metrics.acc" in shown
    assert page["total"] == 4

    # 3. The trend of val_loss over the last 5 training runs — one call.
    table, _ = asked.ask("metric_table", {"names": ["val_loss"], "stage": "train", "limit": 5})
    assert len(table["runs"]) == 4  # the failed run logged no val_loss
    assert "val_loss" in json.dumps(table["runs"][0])

    # 4. Which data and code made the model in use? — one call: the card.
    card, shown = asked.ask("model_card", {"model": "export.pkl"})
    # The exported bytes are the lr=0.01 model's: its training run made them.
    assert card["card"]["producer"]["execution"]["id"] == runs["train0.01"]
    assert "raw" in shown and "lr" in shown and "acc" in shown

    # 5. Why is the lr=0.1 run worse than lr=0.01? — one call.
    _compared, shown = asked.ask("compare_runs", {"ids": [runs["train0.01"], runs["train0.1"]]})
    assert "lr" in shown and "acc" in shown

    # 6. Which run failed, and why? — one call.
    failed, shown = asked.ask("search_executions", {"status": "failed"})
    assert [e["id"] for e in failed["items"]] == [runs["failed"]]
    assert "NaN" in shown or "NaN" in json.dumps(failed)

    # 7. The first clean snapshot turned out bad: mark it, then which models are
    # downstream of it? — two calls, the lineage shows the label.
    first_clean = asked.ask("get_execution", {"execution_id": runs["prep1"]})[0]
    asked.calls -= 1  # looking the digest up is the test's, not the question's
    digest = next(o["digest"] for o in first_clean["outputs"])
    asked.ask("annotate", {"reference": digest, "key": "quality", "value": "bad"})
    _downstream, shown = asked.ask(
        "query_lineage", {"node": digest, "direction": "downstream", "view": "artifacts"}
    )
    assert "quality" in shown and "bad" in shown
    assert "models/model.pkl" in shown

    # 8. Mark the exported model as in prod; what is in prod? — two calls.
    asked.ask("annotate", {"reference": "export.pkl", "key": "stage", "value": "prod"})
    prod, shown = asked.ask("search_artifacts", {"where": 'labels.stage = "prod"'})
    assert [a["path"] for a in prod["items"]] == ["export.pkl"]

    # 9. Every step of one run's curve — one call.
    history, _ = asked.ask(
        "metric_history", {"execution_id": runs["train0.01"], "name": "val_loss"}
    )
    assert len(history["points"]) == 20

    # 10. How do I run the best run again? — one call.
    _recipe, shown = asked.ask("reproduce", {"execution_id": runs["retrain"]})
    assert "data/clean" in shown

    # 11. The same bytes under a second name: one artifact, both paths — one call.
    _model, shown = asked.ask("get_artifact", {"reference": "export.pkl"})
    assert "models/model.pkl" in shown and "export.pkl" in shown

    # 12. How many files does the clean dataset hold? — one call.
    datasets, _ = asked.ask("search_artifacts", {"type": "dataset", "path": "data/clean"})
    assert {a["nfiles"] for a in datasets["items"]} == {2, 3}

    # 13. How many training runs, and how many failed? — one call.
    trains, shown = asked.ask("search_executions", {"stage": "train", "limit": 20})
    assert trains["total"] == 5 and "5 of 5" in shown
    assert [e["status"] for e in trains["items"]].count("failed") == 1

    # 14. Which evaluation scored best, and on which model? — one call.
    best, shown = asked.ask("search_executions", {"stage": "evaluate", "sort": "-metrics.f1"})
    assert best["items"][0]["id"] == runs["evaluate2"]
    assert best["items"][0]["metrics"]["f1"] == 0.86

    assert asked.calls == 16  # fourteen questions, two of them in two calls
