"""One Lightning fit with the project's conventions, shared by every regime and CLAP.

Best and last checkpoints in ``OUT/checkpoints`` (best by a monitored validation
metric, validation loss by default), early stopping, an optional wall-clock budget spent
in whole epochs, resume from ``last.ckpt`` after an interruption, optionally an
exponential moving average of the weights (Lightning's EMAWeightAveraging: validated and
saved in place of the raw weights), and the best weights loaded back into the module at
the end. ``trainer`` (a ``TrainerConfig``) spreads the run over devices and nodes (DDP):
each rank reads its own shard (``distributed.py``), rank 0 alone writes checkpoints and
logs, and only rank 0 holds the best weights at the end (``FitResult.is_global_zero``).

``last.ckpt`` comes from its own checkpoint callback that saves after every epoch:
Lightning's ``save_last`` only refreshes it when a new best is saved, so a resumed
run would restart from the best epoch and lose the epochs after it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, EMAWeightAveraging, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from wstag.errors import ConfigError
from wstag.training.config import MONITORS
from wstag.training.distributed import ShardedData
from wstag.training.precision import lightning_precision
from wstag.training.trainer_config import TrainerConfig


class TrainingClock(Callback):
    """Seconds of training, earlier (resumed) sessions included.

    The time spent travels in the checkpoints, so a row cut and resumed from
    ``last.ckpt`` reports its whole training time rather than its last session's.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self._start: float | None = None  # None until training starts (a finished run resumed never starts)
        self.spent_before = 0.0  # by the sessions before this one (a resumed run)

    def spent(self) -> float:
        """Seconds used so far, earlier (resumed) sessions included."""
        return self.spent_before + (self.clock() - self._start if self._start is not None else 0.0)

    def state_dict(self) -> dict[str, Any]:
        return {"spent": self.spent()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.spent_before = float(state_dict["spent"])

    def on_train_start(self, trainer, pl_module) -> None:
        self._start = self.clock()


class WholeEpochBudget(TrainingClock):
    """Stop at the last epoch boundary that fits a wall-clock budget.

    Lightning's ``max_time`` stops in the middle of an epoch, which is then never
    validated: with 8-minute budgets and 1-minute epochs that wasted about an eighth of
    the training. This callback stops before an epoch that would overrun, judging by the
    longest epoch (training plus validation) after the first: the first carries one-off
    costs (oneDNN kernel selection, allocator and page-cache warm-up; 73 s against
    64-67 s for the demo), and counting it stopped demo runs a whole epoch early.
    ``max_time`` stays as the backstop. The time spent and the epoch durations travel in
    the checkpoints, so a resumed run spends what is left of the budget, as ``max_time``
    (which restores its own elapsed time) would otherwise cut it mid-epoch.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(clock)
        self.seconds = seconds
        self._epoch_start = 0.0
        self.epoch_seconds: list[float] = []

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "epoch_seconds": list(self.epoch_seconds)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.epoch_seconds = [float(s) for s in state_dict["epoch_seconds"]]

    @property
    def expected_epoch(self) -> float:
        """Seconds the next epoch is expected to take."""
        steady = self.epoch_seconds[1:] or self.epoch_seconds
        return max(steady, default=0.0)

    def on_train_start(self, trainer, pl_module) -> None:
        super().on_train_start(trainer, pl_module)
        self._epoch_start = self._start

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # after the epoch's validation
        now = self.clock()
        self.epoch_seconds.append(now - self._epoch_start)
        self._epoch_start = now
        over = self.spent() + self.expected_epoch > self.seconds
        if trainer.strategy.reduce_boolean_decision(over, all=False):  # DDP: any rank's clock stops every rank
            trainer.should_stop = True


def check_checkpoint(path: Path) -> None:
    """Refuse a checkpoint that is not tensors, numbers and plain containers before resuming from it.

    Checkpoints are read weights-only: a run folder copied from someone else could
    otherwise run code when it is unpickled. What this package writes passes.
    """
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling refuses in several ways
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path}: refused to resume from it: it is not a checkpoint of weights this package "
                          f"wrote ({first[:200]}); delete it, or train into another --out") from None


@dataclass(frozen=True)
class FitResult:
    best_score: float | None  # of the monitored metric
    epochs: int
    seconds: float
    is_global_zero: bool = True  # False on the other DDP ranks, whose module keeps its last weights
    earlier_seconds: float = 0.0  # of ``seconds``, spent by the sessions before this one (a resumed run)


def fit(
    module: L.LightningModule,
    train_dl: DataLoader,
    val_dl: DataLoader,
    out_dir: Path,
    *,
    max_epochs: int,
    max_minutes: float | None,
    early_stop_patience: int,
    grad_clip: float | None = None,
    monitor: str = "val/loss",
    ema_decay: float | None = None,
    precision: str = "32",
    trainer: TrainerConfig | None = None,
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
    enable_progress_bar: bool = True,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """Train ``module``; on return it holds the weights of its best validation epoch.

    ``monitor`` is a key of ``MONITORS``, which says whether lower or higher is better.
    ``seed`` orders the training shards under DDP (a permutation per seed and epoch).
    """
    devices = trainer or TrainerConfig()
    say = log or (lambda m: None)
    mode = MONITORS[monitor]
    ckpt_dir = Path(out_dir) / "checkpoints"
    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=monitor, mode=mode, save_top_k=1)
    latest = ModelCheckpoint(dirpath=ckpt_dir, filename="last", save_top_k=1, enable_version_counter=False)
    if ema_decay is not None:  # validation, checkpoints and the returned weights use the average
        callbacks = [EMAWeightAveraging(decay=ema_decay), *callbacks]
    clock = WholeEpochBudget(60 * max_minutes) if max_minutes else TrainingClock()
    callbacks = [clock, *callbacks]
    lightning = L.Trainer(
        max_epochs=max_epochs,
        max_time={"minutes": max_minutes} if max_minutes else None,
        gradient_clip_val=grad_clip,
        callbacks=[best, latest, EarlyStopping(monitor, patience=early_stop_patience, mode=mode), *callbacks],
        logger=CSVLogger(out_dir, name="logs"),
        enable_progress_bar=enable_progress_bar,
        enable_model_summary=False,
        deterministic=False,
        accelerator=devices.accelerator,
        devices=devices.devices,
        num_nodes=devices.num_nodes,
        strategy=devices.lightning_strategy(),
        use_distributed_sampler=False,  # ShardedData shards without repeating clips
        precision=lightning_precision(precision),
    )
    last = ckpt_dir / "last.ckpt"
    if last.is_file():
        check_checkpoint(last)
        say(f"resuming from {last}")
    lightning.fit(module, datamodule=ShardedData(train_dl, val_dl, seed),
                  ckpt_path=str(last) if last.is_file() else None, weights_only=True)
    seconds = clock.spent()
    if best.best_model_path and lightning.is_global_zero:
        module.load_state_dict(torch.load(best.best_model_path, map_location="cpu", weights_only=True)["state_dict"])
    best_score = float(best.best_model_score) if best.best_model_score is not None else None
    return FitResult(best_score, lightning.current_epoch, seconds, lightning.is_global_zero, clock.spent_before)
