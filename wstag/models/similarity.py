"""The frame-phrase logit: the paper's ``a_t . t_n`` (Eq. 3 / 7), optionally scaled and shifted.

``logit = scale * (a_t . t_n) + bias``. The paper's form is scale 1, bias 0, fixed: every
phrase then starts at probability 0.5 in every frame, whatever share of the phrases is
negative, and the first epochs are spent learning that prior (``reports/learning.md``).
A learned scale and a bias started at the log-odds of the prior is the sigmoid-loss
recipe of SigLIP (Zhai et al., 2023) for many negatives. A positive scale and one bias
shared by all phrases keep every ranking of frames and phrases the dot product gives;
only the probabilities (the calibration) move.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from wstag.errors import ConfigError


@dataclass(frozen=True)
class SimilarityConfig:
    """Config section ``model.similarity``; the defaults are the paper's Eq. 3 / 7."""

    scale: float = 1.0  # initial (or fixed) multiplier of the dot product, > 0
    bias: float = 0.0  # initial (or fixed) logit shift
    learned: bool = False  # True: scale (as its log) and bias train with the model

    def __post_init__(self) -> None:
        for name in ("scale", "bias"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"similarity.{name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.scale <= 0:
            raise ConfigError(f"similarity.scale must be > 0 (a negative scale reverses every ranking), "
                              f"got {self.scale}")
        if not isinstance(self.learned, bool):
            raise ConfigError(f"similarity.learned must be true or false, got {self.learned!r}")

    @property
    def is_paper(self) -> bool:
        """The paper's plain dot product (nothing to store in the weights)."""
        return self.scale == 1.0 and self.bias == 0.0 and not self.learned

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SIMILARITY_FIELDS = frozenset(f.name for f in fields(SimilarityConfig))


class Similarity(nn.Module):
    """Dot products (..., N) -> logits ``scale * dot + bias``.

    Learned: ``log_scale`` and ``bias`` are parameters (saved with the weights). Fixed:
    non-persistent buffers rebuilt from the config, so a paper-form model's weights are
    exactly what they were before this module existed.
    """

    def __init__(self, config: SimilarityConfig = SimilarityConfig()) -> None:
        super().__init__()
        self.config = config
        log_scale = torch.tensor(math.log(config.scale))
        bias = torch.tensor(config.bias)
        if config.learned:
            self.log_scale = nn.Parameter(log_scale)
            self.bias = nn.Parameter(bias)
        else:
            self.register_buffer("log_scale", log_scale, persistent=False)
            self.register_buffer("bias", bias, persistent=False)

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.exp()

    def forward(self, dot: torch.Tensor) -> torch.Tensor:
        if self.config.is_paper:
            return dot
        return dot * self.scale.to(dot.dtype) + self.bias.to(dot.dtype)

    def extra_repr(self) -> str:
        return f"scale={float(self.scale.detach()):.4g}, bias={float(self.bias.detach()):.4g}, learned={self.config.learned}"
