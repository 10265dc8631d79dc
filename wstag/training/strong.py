"""Strongly-supervised TAG (SSTAG, Table II's last row): frame BCE against the segments."""

from __future__ import annotations

import torch

from wstag.training.losses import frame_bce
from wstag.training.phrase_level import PhraseLevelModule


class StrongModule(PhraseLevelModule):
    logs_tag_auc = False  # every phrase is a positive here; the loss is per frame

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits, frame_mask = self.model.forward_logits(
            batch["features"], batch["feature_lengths"], batch["tokens"], batch["token_lengths"]
        )  # (B, T, N), (B, T)
        return frame_bce(logits, batch["frame_targets"], frame_mask, batch["phrase_mask"])
