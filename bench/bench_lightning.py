"""What ``CmfLogger`` adds to a PyTorch Lightning training loop on the CPU.

A tiny model (two linear layers) is trained for ``--steps`` steps (batch 8,
``self.log("loss", …)`` every step, ``log_every_n_steps=1``) three ways, each
median of ``--repeats`` fits in the same process:

- ``no_logger``: ``Trainer(logger=False)`` — the baseline;
- ``noop_logger``: a ``Logger`` whose methods do nothing — Lightning's own cost of
  handing metrics to any logger, so ``cmf_over_noop_logger`` is cmf's part alone;
- ``csv_logger``: Lightning's own ``CSVLogger``, for reference;
- ``cmf_logger``: ``CmfLogger`` on a fresh SQLite store: one execution, a step
  metric per step, hyperparameters, the end.

**Target: ≤ 1.02** (≤ 2 % added), read on ``cmf_over_no_logger`` (strict) and
``cmf_over_noop_logger``. Needs the
``lightning`` extra. Prints one JSON object; temporary files are deleted.

    .venv/bin/python bench/bench_lightning.py [--quick] [--steps N] [--repeats N]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine, make_project

TARGET_RATIO = 1.02


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    steps, repeats = (50, 1) if args.quick else (args.steps, args.repeats)
    for name in [n for n in os.environ if n.startswith("CMF_")]:
        del os.environ[name]
    warnings.simplefilter("ignore")
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.loggers import CSVLogger, Logger
    from torch.utils.data import DataLoader, TensorDataset

    from cmf_core import Cmf
    from cmf_core.integrations.lightning import CmfLogger

    torch.set_num_threads(1)

    class Tiny(pl.LightningModule):
        def __init__(self, lr: float = 0.05) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Linear(8, 1))

        def training_step(self, batch: Any, index: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("loss", loss)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.hparams["lr"])

    class Noop(Logger):
        name = "noop"
        version = "0"

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

        def log_metrics(self, metrics: Any, step: Any = None) -> None:
            pass

    x = torch.rand(8 * 100, 2, generator=torch.Generator().manual_seed(0))
    data = DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=8)

    def fit(logger: Any, root: Path) -> tuple[float, float]:
        trainer = pl.Trainer(
            max_steps=steps,
            logger=logger,
            accelerator="cpu",
            log_every_n_steps=1,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            default_root_dir=root,
        )
        start, cpu = time.perf_counter(), time.process_time()
        trainer.fit(Tiny(), data)
        return time.perf_counter() - start, time.process_time() - cpu

    with tempfile.TemporaryDirectory(prefix="cmf-bench-lightning-") as tmp:
        root = make_project(Path(tmp) / "project")
        os.chdir(root)
        names = ("no_logger", "noop_logger", "csv_logger", "cmf_logger")
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        with Cmf(pipeline="bench", store=f"sqlite:///{root / '.cmf' / 'metadata.db'}") as cmf:
            fit(False, root)  # warm-up: imports, first-fit set-up
            fit(CmfLogger(cmf=cmf, stage="warm-up"), root)
            for _ in range(repeats):
                loggers = {
                    "no_logger": False,
                    "noop_logger": Noop(),
                    "csv_logger": CSVLogger(root / "csv"),
                    "cmf_logger": CmfLogger(cmf=cmf),
                }
                for name, logger in loggers.items():
                    wall, used = fit(logger, root)
                    times[name].append(wall)
                    cpu[name].append(used)
            recorded = cmf.store.count("metrics")
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    ratio = medians["cmf_logger"] / medians["no_logger"]
    result = {
        "bench": "lightning",
        "machine": machine(),
        "steps": steps,
        "repeats": repeats,
        "fit_median_s": {name: round(value, 3) for name, value in medians.items()},
        "metric_values_recorded": recorded,
        "fit_cpu_median_s": {name: round(value, 3) for name, value in cpu_medians.items()},
        "cmf_over_no_logger": round(ratio, 4),
        "cmf_cpu_over_no_logger": round(cpu_medians["cmf_logger"] / cpu_medians["no_logger"], 4),
        "cmf_over_noop_logger": round(medians["cmf_logger"] / medians["noop_logger"], 4),
        "csv_over_no_logger": round(medians["csv_logger"] / medians["no_logger"], 4),
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
