"""Phrase-level WSTAG (paper IV): clip BCE over the caption's phrases and sampled negatives."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from wstag.models.grounding import GroundingModel
from wstag.models.pooling import get_pooling
from wstag.training.config import TrainingConfig
from wstag.training.distributed import gather_arrays
from wstag.training.losses import clip_bce
from wstag.training.optimizers import configure_optimizers
from wstag.training.splicing import half_masks, splice_batch


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
        self._train_scores: list[np.ndarray] = []
        self._train_labels: list[np.ndarray] = []

    def _clip_probs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        probs, out_mask = self.model(
            batch["features"], batch["feature_lengths"], batch["tokens"], batch["token_lengths"]
        )  # (B, T, N), (B, T)
        return self.pool(probs, out_mask)  # (B, N)

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return clip_bce(self._clip_probs(batch), batch["labels"], batch["phrase_mask"])

    def _spliced_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Clip BCE over the halves of spliced clips (``training.splice``; evaluation never splices)."""
        spliced = splice_batch(batch, self.config.splice)
        joined = spliced.batch
        probs, out_mask = self.model(joined["features"], joined["feature_lengths"], joined["tokens"],
                                     joined["token_lengths"])  # (E, T, 2N), (E, T)
        halves = half_masks(spliced, out_mask, self.model.audio_encoder.time_downsample)  # (S, T)
        clip_probs = self.pool(probs[spliced.example], halves)  # (S, 2N)
        # the training tag AUC reads each half's own phrases only
        self._keep(self._train_scores, self._train_labels, clip_probs,
                   {"phrase_mask": spliced.own & spliced.mask, "labels": spliced.labels})
        return clip_bce(clip_probs, spliced.labels, spliced.mask)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.config.splice > 0:
            loss = self._spliced_step(batch)
        elif self.logs_tag_auc:
            clip_probs = self._clip_probs(batch)
            loss = clip_bce(clip_probs, batch["labels"], batch["phrase_mask"])
            self._keep(self._train_scores, self._train_labels, clip_probs, batch)
        else:
            loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        return loss

    @staticmethod
    def _keep(scores: list, labels: list, clip_probs: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        mask = batch["phrase_mask"]
        scores.append(clip_probs[mask].detach().float().cpu().numpy())
        labels.append(batch["labels"][mask].detach().cpu().numpy() > 0.5)

    def on_train_epoch_end(self) -> None:
        """``train/tag_auc``: the same AUC on the epoch's training batches, as the optimiser saw
        them (training mode: dropout and augmentation on, weights moving through the epoch).
        Beside ``val/tag_auc`` it tells a model that cannot fit its captions from one that
        fits them and does not carry them to recordings it never heard."""
        self._log_auc("train/tag_auc", self._train_scores, self._train_labels)
        self._train_scores, self._train_labels = [], []

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        if self.logs_tag_auc:
            clip_probs = self._clip_probs(batch)
            loss = clip_bce(clip_probs, batch["labels"], batch["phrase_mask"])
            self._keep(self._val_scores, self._val_labels, clip_probs, batch)
        else:  # subclasses with another loss
            loss = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, batch_size=len(batch["labels"]), sync_dist=True)  # DDP: all ranks

    def on_validation_epoch_end(self) -> None:
        self._log_auc("val/tag_auc", self._val_scores, self._val_labels, prog_bar=True)
        self._val_scores, self._val_labels = [], []

    def _log_auc(self, name: str, scores: list, labels: list, prog_bar: bool = False) -> None:
        if not scores:
            return
        y, s = gather_arrays(np.concatenate(labels), np.concatenate(scores))  # DDP: every rank's pairs
        auc = roc_auc_score(y, s) if 0 < y.sum() < len(y) else 0.5  # one class only: no ranking to judge
        self.log(name, float(auc), prog_bar=prog_bar, sync_dist=True)  # the same on every rank

    def configure_optimizers(self):
        return configure_optimizers(self, self.config)
