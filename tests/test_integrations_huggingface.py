"""CmfCallback: a real Hugging Face Trainer run of a tiny model on the CPU, as one execution."""

import warnings
from pathlib import Path
from typing import Any

import pytest

from cmf_core import Cmf, ExecutionDetail

pytest.importorskip("transformers", reason="the transformers extra is not installed")

import torch
from transformers import Trainer, TrainingArguments

from cmf_core.integrations.huggingface import CmfCallback


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(2, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        if torch.isnan(x).any():
            raise RuntimeError("bad batch")
        return {"loss": torch.nn.functional.mse_loss(self.net(x), labels)}


def rows(n: int = 32, *, poisoned: bool = False) -> list[dict[str, Any]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(n, 2, generator=generator)
    if poisoned:
        x[-1, 0] = float("nan")
    return [{"x": row, "labels": row.sum(dim=0, keepdim=True)} for row in x]


def train(root: Path, callback: CmfCallback, data: list[dict[str, Any]]) -> None:
    args = TrainingArguments(
        output_dir=str(root / "out"),
        num_train_epochs=2,
        per_device_train_batch_size=8,
        learning_rate=0.05,
        logging_steps=1,
        save_strategy="epoch",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = Trainer(model=Tiny(), args=args, train_dataset=data, callbacks=[callback])
    with warnings.catch_warnings():  # the Trainer's own advice
        warnings.simplefilter("ignore")
        trainer.train()


def only_execution(cmf: Cmf) -> ExecutionDetail:
    [execution] = cmf.store.list_executions()
    return cmf.store.get_execution_detail(execution.id)


def test_a_train_records_arguments_step_metrics_inputs_and_the_last_checkpoint(
    project: Path, sqlite_url: str
) -> None:
    (project / "data.csv").write_text("x\n")
    with Cmf(pipeline="hf", store=sqlite_url) as cmf:
        train(project, CmfCallback(cmf=cmf, inputs=["data.csv"]), rows())
        detail = only_execution(cmf)
    execution = detail.execution
    assert execution.status.value == "completed"
    assert execution.params["learning_rate"] == 0.05
    assert execution.params["num_train_epochs"] == 2
    assert detail.step_metrics["loss"] == 8  # 4 batches x 2 epochs, logged every step
    assert "learning_rate" in detail.step_metrics
    assert [e.path for e in detail.inputs] == ["data.csv"]
    assert [(e.path, e.artifact.type.value) for e in detail.outputs] == [
        ("out/checkpoint-8", "model")
    ]


def test_a_run_handed_over_is_failed_by_its_block_when_training_raises(
    project: Path, sqlite_url: str
) -> None:
    with Cmf(pipeline="hf", store=sqlite_url) as cmf:
        with pytest.raises(RuntimeError, match="bad batch"), cmf.execution("train") as run:
            train(project, CmfCallback(run=run), rows(poisoned=True))
        detail = only_execution(cmf)
    assert detail.execution.status.value == "failed"
    assert detail.execution.params["learning_rate"] == 0.05
    assert detail.step_metrics.get("loss", 0) < 8  # the steps before the (shuffled) bad batch
