"""CmfLogger: a real PyTorch Lightning fit of a tiny model on the CPU, recorded as one execution."""

import warnings
from pathlib import Path

import pytest

from cmf_core import Cmf, ExecutionDetail

pytest.importorskip("lightning", reason="the lightning extra (and torch) is not installed")

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from cmf_core.integrations.lightning import CmfLogger


class Tiny(pl.LightningModule):
    def __init__(self, lr: float = 0.1, hidden: int = 4, fail_at: int = -1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Linear(hidden, 1))

    def training_step(self, batch: list[torch.Tensor], index: int) -> torch.Tensor:
        if self.global_step == self.hparams["fail_at"]:
            raise RuntimeError("diverged")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("loss", loss, on_step=True, on_epoch=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams["lr"])


class Data(pl.LightningDataModule):
    def __init__(self, data_dir: str, batch_size: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()

    def train_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return loader()


def loader() -> DataLoader[tuple[torch.Tensor, ...]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(64, 2, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=8)


def fit(logger: CmfLogger, model: Tiny, root: Path, data: Data | None = None) -> None:
    trainer = pl.Trainer(
        max_epochs=2,
        logger=logger,
        callbacks=[ModelCheckpoint(dirpath=root / "checkpoints", save_last=True)],
        accelerator="cpu",
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
    )
    with warnings.catch_warnings():  # Lightning's advice on workers and the like
        warnings.simplefilter("ignore")
        if data is None:
            trainer.fit(model, loader())
        else:
            trainer.fit(model, datamodule=data)


def only_execution(cmf: Cmf) -> ExecutionDetail:
    [execution] = cmf.store.list_executions()
    return cmf.store.get_execution_detail(execution.id)


def test_a_fit_records_hyperparameters_step_metrics_inputs_and_checkpoints(
    project: Path, sqlite_url: str
) -> None:
    (project / "data").mkdir()
    (project / "data" / "train.pt").write_text("tensors")
    (project / "data" / "images").mkdir()
    (project / "data" / "images" / "0.png").write_text("png")
    with Cmf(pipeline="tiny", store=sqlite_url) as cmf:
        logger = CmfLogger(cmf=cmf, stage="train", inputs=["data/train.pt"])
        fit(logger, Tiny(lr=0.05), project, Data("data/images"))
        detail = only_execution(cmf)
    execution = detail.execution
    assert execution.status.value == "completed"
    assert execution.params == {
        "lr": 0.05,
        "hidden": 4,
        "fail_at": -1,
        "data_dir": "data/images",
        "batch_size": 8,
    }
    assert detail.step_metrics["loss_step"] == 16  # 8 batches x 2 epochs
    assert detail.step_metrics["loss_epoch"] == 2
    assert sorted(e.path for e in detail.inputs) == ["data/images", "data/train.pt"]
    outputs = sorted((e.path, e.artifact.type.value) for e in detail.outputs)
    assert ("checkpoints/last.ckpt", "model") in outputs
    assert len(outputs) == 2  # the best and the last


def test_training_that_raises_ends_the_execution_failed(project: Path, sqlite_url: str) -> None:
    with Cmf(pipeline="tiny", store=sqlite_url) as cmf:
        with pytest.raises(RuntimeError, match="diverged"):
            fit(CmfLogger(cmf=cmf), Tiny(fail_at=3), project)
        detail = only_execution(cmf)
    assert detail.execution.status.value == "failed"
    assert detail.step_metrics["loss_step"] == 3


def test_a_store_that_cannot_be_written_warns_once_and_training_goes_on(
    project: Path, postgres_url: str
) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    from cmf_core import CmfWarning

    url = make_url(postgres_url)
    schema = str(url.query["options"]).removeprefix("-csearch_path=")
    admin = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)

    class DropTheStore(pl.Callback):
        def on_train_batch_end(self, trainer: pl.Trainer, *args: object) -> None:
            if trainer.global_step == 4:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    with (
        Cmf(pipeline="tiny", store=postgres_url) as cmf,
        pytest.warns(Warning) as caught,  # Lightning's own advice is caught here too
    ):
        trainer = pl.Trainer(
            max_epochs=3,
            logger=CmfLogger(cmf=cmf),
            callbacks=[DropTheStore()],
            accelerator="cpu",
            log_every_n_steps=1,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            default_root_dir=project,
        )
        trainer.fit(Tiny(), loader())
    assert trainer.global_step == 24  # every step ran
    ours = [str(w.message) for w in caught if issubclass(w.category, CmfWarning)]
    assert len(ours) == 1 and "could not record to its store" in ours[0]
