"""Phrase-level WSTAG (paper IV): clip BCE over the caption's phrases and sampled negatives."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from wstag.models.grounding import GroundingModel
from wstag.models.pooling import get_pooling
from wstag.training.config import MONITORS, TrainingConfig
from wstag.training.distributed import gather_arrays
from wstag.training.losses import clip_bce


class PhraseLevelModule(L.LightningModule):
    """Frame-phrase probabilities -> audio pooling (Eq. 6) -> clip BCE (Eq. 8).

    Validation also logs ``val/tag_auc``: the ROC AUC of the pooled clip-phrase
    probabilities against the caption's weak labels (positives vs sampled negatives).
    It ranks, so unlike the loss it is blind to calibration, which drifts on unseen
    recordings while the ranking still improves; it needs no segments.
    """

    logs_tag_auc = True  # False in subclasses whose batches have no sampled negatives

    def __init__(self, model: GroundingModel, config: TrainingConfig):
        super().__init__()
        self.model = model
        self.config = config
        self.pool = get_pooling(config.audio_pooling)
        self._val_scores: list[np.ndarray] = []
        self._val_labels: list[np.ndarray] = []

    def _clip_probs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        probs, out_mask = self.model(
            batch["features"], batch["feature_lengths"], batch["tokens"], batch["token_lengths"]
        )  # (B, T, N), (B, T)
        return self.pool(probs, out_mask)  # (B, N)

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return clip_bce(self._clip_probs(batch), batch["labels"], batch["phrase_mask"])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        if self.logs_tag_auc:
            clip_probs = self._clip_probs(batch)
            loss = clip_bce(clip_probs, batch["labels"], batch["phrase_mask"])
            mask = batch["phrase_mask"]
            self._val_scores.append(clip_probs[mask].detach().float().cpu().numpy())
            self._val_labels.append(batch["labels"][mask].detach().cpu().numpy() > 0.5)
        else:  # subclasses with another loss
            loss = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, batch_size=len(batch["labels"]), sync_dist=True)  # DDP: all ranks

    def on_validation_epoch_end(self) -> None:
        scores, labels = self._val_scores, self._val_labels
        self._val_scores, self._val_labels = [], []
        if not scores:
            return
        y, s = gather_arrays(np.concatenate(labels), np.concatenate(scores))  # DDP: every rank's pairs
        auc = roc_auc_score(y, s) if 0 < y.sum() < len(y) else 0.5  # one class only: no ranking to judge
        self.log("val/tag_auc", float(auc), prog_bar=True, sync_dist=True)  # the same on every rank

    def configure_optimizers(self):
        monitor = self.config.monitor
        opt = torch.optim.Adam(self.parameters(), lr=self.config.lr)
        if self.config.lr_schedule == "cosine":  # to zero at the last step of max_epochs
            steps = max(1, int(self.trainer.estimated_stepping_batches))
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode=MONITORS[monitor], factor=self.config.lr_factor, patience=self.config.lr_patience
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": monitor}}
