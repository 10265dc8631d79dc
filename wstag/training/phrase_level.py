"""Phrase-level WSTAG (paper IV): clip BCE over the caption's phrases and sampled negatives."""

from __future__ import annotations

import lightning as L
import torch

from wstag.models.grounding import GroundingModel
from wstag.models.pooling import get_pooling
from wstag.training.config import TrainingConfig
from wstag.training.losses import clip_bce


class PhraseLevelModule(L.LightningModule):
    """Frame-phrase probabilities -> audio pooling (Eq. 6) -> clip BCE (Eq. 8)."""

    def __init__(self, model: GroundingModel, config: TrainingConfig):
        super().__init__()
        self.model = model
        self.config = config
        self.pool = get_pooling(config.audio_pooling)

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        probs, out_mask = self.model(
            batch["features"], batch["feature_lengths"], batch["tokens"], batch["token_lengths"]
        )  # (B, T, N), (B, T)
        clip_probs = self.pool(probs, out_mask)  # (B, N)
        return clip_bce(clip_probs, batch["labels"], batch["phrase_mask"])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch), prog_bar=True, batch_size=len(batch["labels"]))

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=self.config.lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=self.config.lr_factor, patience=self.config.lr_patience
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val/loss"}}
