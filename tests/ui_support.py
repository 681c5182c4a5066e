"""A recorded pipeline for the web UI tests: prepare → train (three runs) → evaluate."""

from pathlib import Path

from cmf_core import Cmf

HOSTILE = '<script>alert("x")</script>'


def record_pipeline(store_url: str, root: Path, *, pipeline: str = "fraud") -> dict[str, str]:
    """Ids of the runs by name: prepare, train0..train2 (lr 0.1, 0.2, 0.3), evaluate."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "raw.csv").write_text("a,b\n1,2\n")
    ids: dict[str, str] = {}
    with Cmf(
        pipeline=pipeline, store=store_url, capture_git=False, capture_environment=False
    ) as cmf:
        with cmf.execution("prepare", params={"seed": 1}) as run:
            run.log_dataset("data/raw.csv")
            (root / "data" / "clean.csv").write_text("a,b\n1,2\n3,4\n")
            run.log_dataset("data/clean.csv", event="output")
        ids["prepare"] = run.id
        for n, lr in enumerate((0.1, 0.2, 0.3)):
            with cmf.execution("train", params={"lr": lr, "epochs": 5}) as run:
                run.log_dataset("data/clean.csv")
                for step in range(5):
                    run.log_metric("loss", 1.0 / (step + 1) + lr, step=step)
                (root / f"model{n}.pkl").write_text(f"model {lr}")
                run.log_model(f"model{n}.pkl")
                run.log_metrics({"accuracy": 0.8 + lr / 10})
            ids[f"train{n}"] = run.id
        with cmf.execution("evaluate") as run:
            run.log_model("model2.pkl", event="input")
            (root / "report.json").write_text("{}")
            run.log_dataset("report.json", event="output")
            run.log_metrics({"auc": 0.91})
        ids["evaluate"] = run.id
    return ids
