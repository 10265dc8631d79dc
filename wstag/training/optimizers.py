"""The optimiser and learning-rate schedule of every regime, from ``TrainingConfig``.

The paper's recipe is Adam at 1e-3 with the LR divided by 10 when the monitored metric
stalls (``plateau``). Measured alternatives (``reports/learning.md``): AdamW with weight
decay (decoupled, on weights only: BatchNorm, biases and the logit scale and bias are
not decayed), a linear warm-up over the first ``warmup_epochs``, and a cosine schedule
for short fixed-epoch runs that never stall long enough for a plateau to act.
"""

from __future__ import annotations

import math

import lightning as L
import torch

from wstag.training.config import MONITORS, TrainingConfig


def parameter_groups(module: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weights (matrices, kernels, embeddings) decay; vectors and scalars (norms, biases, scale) do not."""
    decay, keep = [], []
    for p in module.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else keep).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def configure_optimizers(module: L.LightningModule, config: TrainingConfig) -> dict:
    """Lightning's ``configure_optimizers`` answer for ``config``; the warm-up runs in ``warmup_factor``."""
    if config.optimizer == "adamw":
        opt = torch.optim.AdamW(parameter_groups(module, config.weight_decay), lr=config.lr)
    else:
        opt = torch.optim.Adam(module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.lr_schedule == "cosine":  # to zero at the last step of max_epochs, after the warm-up
        steps = max(1, int(module.trainer.estimated_stepping_batches))
        warmup = warmup_steps(config.warmup_epochs, steps / config.max_epochs)

        def factor(step: int) -> float:
            return warmup_factor(step, warmup) * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode=MONITORS[config.monitor], factor=config.lr_factor, patience=config.lr_patience
    )
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": config.monitor}}


def warmup_steps(epochs: float, steps_per_epoch: float) -> int:
    return math.ceil(epochs * steps_per_epoch)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up: (step + 1) / warmup_steps for the first warmup_steps steps, then 1."""
    if warmup_steps <= 0 or step >= warmup_steps:
        return 1.0
    return (step + 1) / warmup_steps


class PlateauWarmUp(L.Callback):
    """The warm-up of the ``plateau`` schedule: scale the LR of each of the first ``epochs``
    epochs' steps by ``warmup_factor``, then hand the base LR back to the plateau rule
    (which acts only at epoch ends). The cosine schedule has its warm-up built in."""

    def __init__(self, epochs: float) -> None:
        self.epochs = epochs

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        steps = warmup_steps(self.epochs, max(1, trainer.num_training_batches))
        step = trainer.global_step
        if step > steps:
            return
        for opt in trainer.optimizers:
            for group in opt.param_groups:
                group.setdefault("warmup_base_lr", group["lr"])
                if step == steps:  # the first step after the warm-up: hand the LR back
                    group["lr"] = group.pop("warmup_base_lr")
                else:
                    group["lr"] = group["warmup_base_lr"] * warmup_factor(step, steps)
