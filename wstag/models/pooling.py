"""Audio pooling, paper Eq. 6: frame-phrase probabilities -> clip-phrase probabilities.

``s_cp(n) = Pool_A(s_fp(1, n), ..., s_fp(T, n))`` over the *valid* frames of each clip.
Each function takes ``probs`` (B, T, N) in [0, 1] and ``mask`` (B, T) bool (True on
valid frames) and returns (B, N). Padded frames are excluded with ``torch.where``, not
multiplied by zero, so whatever they hold (even NaN or inf) changes neither the result
nor its gradient. A clip with no valid frame pools to 0.
"""

from __future__ import annotations

from typing import Callable

import torch

from wstag.errors import ConfigError

PoolFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Keeps linear softmax finite when every probability is 0 (Eq. 6 is 0/0 there).
EPS = 1e-7


def _check(probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Validate shapes; return the mask as (B, T, 1) bool for broadcasting over phrases."""
    if probs.ndim != 3 or mask.shape != probs.shape[:2]:
        raise ValueError(f"pooling expects probs (B, T, N) and mask (B, T), got "
                         f"{tuple(probs.shape)} and {tuple(mask.shape)}")
    return mask.to(torch.bool)[:, :, None]


def mean_pool(probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over valid frames: ``sum_t s(t) / T``."""
    m = _check(probs, mask)  # (B, T, 1)
    total = torch.where(m, probs, 0.0).sum(dim=1)  # (B, N)
    count = m.sum(dim=1).clamp_min(1).to(probs.dtype)  # (B, 1)
    return total / count


def max_pool(probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over valid frames: ``max_t s(t)``."""
    m = _check(probs, mask)
    if probs.shape[1] == 0:
        return probs.new_zeros(probs.shape[0], probs.shape[2])
    best = torch.where(m, probs, float("-inf")).amax(dim=1)  # (B, N)
    return torch.where(m.any(dim=1), best, 0.0)


def linear_softmax_pool(probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Linear softmax: ``sum_t s(t)^2 / sum_t s(t)`` (each frame weighted by itself)."""
    m = _check(probs, mask)
    p = torch.where(m, probs, 0.0)  # (B, T, N)
    return (p * p).sum(dim=1) / (p.sum(dim=1) + EPS)


def exp_softmax_pool(probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Exponential softmax: ``sum_t s(t) e^s(t) / sum_t e^s(t)``.

    Computed with the largest valid value subtracted in the exponent (the ratio is
    unchanged), so it stays finite for any input range.
    """
    m = _check(probs, mask)
    if probs.shape[1] == 0:
        return probs.new_zeros(probs.shape[0], probs.shape[2])
    p = torch.where(m, probs, 0.0)  # (B, T, N)
    shift = torch.where(m, probs, float("-inf")).amax(dim=1, keepdim=True)  # (B, 1, N)
    shift = torch.where(torch.isfinite(shift), shift, 0.0).detach()
    w = torch.exp(torch.where(m, probs - shift, float("-inf")))  # (B, T, N), 0 on padding
    return (p * w).sum(dim=1) / w.sum(dim=1).clamp_min(EPS)


AUDIO_POOLING: dict[str, PoolFn] = {
    "mean": mean_pool,
    "max": max_pool,
    "linear_softmax": linear_softmax_pool,
    "exp_softmax": exp_softmax_pool,
}


def get_pooling(name: str) -> PoolFn:
    """The Eq. 6 pooling called ``name``; ConfigError listing the valid names otherwise."""
    try:
        return AUDIO_POOLING[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown audio pooling {name!r}; choose one of {sorted(AUDIO_POOLING)}") from None
