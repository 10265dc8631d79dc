"""Loss functions of the paper's training regimes, as small pure functions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-7


def clip_bce(clip_probs: torch.Tensor, labels: torch.Tensor, phrase_mask: torch.Tensor) -> torch.Tensor:
    """Eq. 8: mean BCE between pooled clip-phrase probabilities and 0/1 (or soft) labels.

    clip_probs, labels, phrase_mask: (B, N); padded phrases (mask False) do not count.
    """
    p = clip_probs.clamp(EPS, 1 - EPS)
    loss = F.binary_cross_entropy(p, labels, reduction="none")
    mask = phrase_mask.to(loss.dtype)
    return (loss * mask).sum() / mask.sum().clamp_min(1)
