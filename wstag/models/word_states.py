"""A phrase as its words' states: what the query-graph encoder hands the cross-modal attention.

The paper's text encoders give one vector per phrase, scored against a frame by a dot
product. QGCA's attention reads the phrase word by word for every frame, so its text
encoder gives each word's state and which words are real (``mask``). ``WordStates``
moves through the same call sites as a phrase-embedding tensor does (``.to``,
``.float()``, ``.cpu()``) and reshapes between one list of phrases (N, L, D) and
phrases per clip (B, N, L, D).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class WordStates:
    """``states`` (..., N, L, D) and ``mask`` (..., N, L) bool: True at a phrase's real words."""

    states: torch.Tensor
    mask: torch.Tensor

    def __post_init__(self) -> None:
        if self.states.ndim not in (3, 4) or self.mask.shape != self.states.shape[:-1]:
            raise ValueError(f"word states must be (N, L, D) or (B, N, L, D) with a mask of their first "
                             f"dimensions, got {tuple(self.states.shape)} and {tuple(self.mask.shape)}")
        if self.mask.dtype != torch.bool:
            raise ValueError(f"the word mask must be bool, got {self.mask.dtype}")

    @property
    def n_phrases(self) -> int:
        return self.states.shape[-3]

    @property
    def dim(self) -> int:
        return self.states.shape[-1]

    def to(self, *args, **kwargs) -> "WordStates":
        """Like ``Tensor.to`` for the states; the mask moves device only."""
        states = self.states.to(*args, **kwargs)
        return WordStates(states, self.mask.to(states.device))

    def float(self) -> "WordStates":
        return WordStates(self.states.float(), self.mask)

    def cpu(self) -> "WordStates":
        return WordStates(self.states.cpu(), self.mask.cpu())

    def per_clip(self, b: int, n: int) -> "WordStates":
        """(B * N, L, D) -> (B, N, L, D): the phrases of each clip, as ``forward_logits`` flattens them."""
        if self.states.ndim != 3 or self.states.shape[0] != b * n:
            raise ValueError(f"expected {b} x {n} phrases as (B * N, L, D), got {tuple(self.states.shape)}")
        l, d = self.states.shape[1:]
        return WordStates(self.states.reshape(b, n, l, d), self.mask.reshape(b, n, l))
