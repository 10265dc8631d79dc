"""QGCA's cross-modal interaction: frame-wise attention over a phrase's words, then cross-gating.

The paper's similarity is one dot product per frame and phrase, ``a_t . t_n``. QGCA
(Tang et al. 2021, the paper's [58]; Table V puts it in the paper's framework by "adding
the cross-modal attention before similarity calculation") first gives every frame its
own reading of the phrase, then lets each side gate the other:

- attention (additive): ``e_tj = v . tanh(W_a a_t + W_w h_j + b)``, ``alpha_t = softmax_j(e_t)``
  over the phrase's real words, ``q_t = sum_j alpha_tj h_j``;
- cross-gating: ``a'_t = a_t * sigmoid(G_q q_t + c_q)`` (the query gates the audio) and
  ``q'_t = q_t * sigmoid(G_a a_t + c_a)`` (the audio gates the query);
- ``a'_t . q'_t``, which ``GroundingModel`` scales and shifts (``Similarity``) into the
  frame-phrase logit, as it does the paper's dot product.

Every frame depends on the phrase through the attention, so a phrase costs
O(T x L x attention_dim) per recording instead of one D-dim dot product per frame, and
it cannot be folded into one vector for the collection index (docs/qgca.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from wstag.errors import ConfigError
from wstag.models.word_states import WordStates

DOT = "dot"
CROSS_GATING = "cross_gating"
KINDS = (DOT, CROSS_GATING)
#: Without gradients, frames are scored in chunks so that the attention's (B, N, T, L, A)
#: activations stay under this many elements (a long recording, many phrases).
INFERENCE_ELEMENTS = 1 << 25


@dataclass(frozen=True)
class InteractionConfig:
    """Config section ``model.interaction``: ``dot`` (the paper's ``a_t . t_n``, the default) or
    ``cross_gating`` (QGCA; needs ``text_encoder.kind: graph``)."""

    kind: str = DOT
    attention_dim: int | None = None  # cross_gating: the additive attention's width (None: the embedding's)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"interaction.kind must be one of {KINDS}, got {self.kind!r}")
        a = self.attention_dim
        if a is not None and (isinstance(a, bool) or not isinstance(a, int) or a < 1):
            raise ConfigError(f"interaction.attention_dim must be a positive integer or null, got {a!r}")
        if a is not None and self.kind != CROSS_GATING:
            raise ConfigError(f"interaction.attention_dim applies to kind {CROSS_GATING!r}, not {self.kind!r}")

    @property
    def is_paper(self) -> bool:
        """The paper's dot product: nothing to build, nothing to write in a model folder."""
        return self.kind == DOT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


INTERACTION_FIELDS = frozenset(f.name for f in fields(InteractionConfig))


class CrossGatingAttention(nn.Module):
    """Frames (B, T, D) and ``WordStates`` (N, L, D) shared by every clip, or (B, N, L, D) per
    clip -> ``a'_t . q'_t``, (B, T, N) in float32. Values at padded frames are meaningless
    (pool with the frame mask); a phrase with no word scores 0."""

    def __init__(self, embed_dim: int, config: InteractionConfig) -> None:
        super().__init__()
        if config.kind != CROSS_GATING:
            raise ConfigError(f"CrossGatingAttention is interaction.kind {CROSS_GATING!r}, not {config.kind!r}")
        self.config = config
        a = config.attention_dim or embed_dim
        self.attend_frames = nn.Linear(embed_dim, a, bias=False)  # W_a
        self.attend_words = nn.Linear(embed_dim, a)  # W_w, b
        self.score = nn.Linear(a, 1, bias=False)  # v
        self.gate_audio = nn.Linear(embed_dim, embed_dim)  # G_q, c_q: from the query, gates the audio
        self.gate_query = nn.Linear(embed_dim, embed_dim)  # G_a, c_a: from the audio, gates the query

    def forward(self, audio: torch.Tensor, words: WordStates) -> torch.Tensor:
        states, mask = words.states, words.mask
        if states.ndim == 3:  # one phrase list for every clip
            states, mask = states[None], mask[None]
        if audio.ndim != 3 or states.shape[0] not in (1, audio.shape[0]) or states.shape[-1] != audio.shape[-1]:
            raise ValueError(f"audio must be (B, T, D) and word states (N, L, D) or (B, N, L, D) with the same "
                             f"B and D, got {tuple(audio.shape)} and {tuple(words.states.shape)}")
        t = audio.shape[1]
        if torch.is_grad_enabled() or t == 0:
            return self._frames(audio, states, mask)
        per_frame = audio.shape[0] * states.shape[1] * states.shape[2] * self.score.in_features
        chunk = max(1, INFERENCE_ELEMENTS // max(per_frame, 1))
        return torch.cat([self._frames(audio[:, i: i + chunk], states, mask) for i in range(0, t, chunk)], dim=1)

    def attention(self, audio: torch.Tensor, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``alpha``: audio (B, T, D), states (b, N, L, D), mask (b, N, L) with b in {1, B} -> (B, N, T, L),
        each frame's weights over the phrase's real words (summing to 1; all 0 for a phrase with none)."""
        frames = self.attend_frames(audio)  # (B, T, A)
        keys = self.attend_words(states)  # (b, N, L, A)
        # The largest tensor of the model: tanh in place, so it is allocated once (its sum needs no grad).
        energy = (frames[:, None, :, None, :] + keys[:, :, None, :, :]).tanh_()  # (B, N, T, L, A)
        scores = self.score(energy).squeeze(-1)  # (B, N, T, L)
        real = mask[:, :, None, :]  # (b, N, 1, L)
        # A finite floor, not -inf: a phrase with no word would otherwise give NaN; its weights are zeroed after.
        scores = scores.masked_fill(~real, torch.finfo(scores.dtype).min)
        return torch.softmax(scores, dim=-1) * real

    def _frames(self, audio: torch.Tensor, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """audio (B, T, D), states (b, N, L, D) and mask (b, N, L) with b in {1, B} -> (B, T, N)."""
        weights = self.attention(audio, states, mask)  # (B, N, T, L)
        query = weights @ states.to(weights.dtype)  # (B, N, T, D): each frame's own reading of the phrase
        gated_query = query * torch.sigmoid(self.gate_audio(query))  # q_t * g_a: the a'_t factor, moved to q
        gated_audio = audio * torch.sigmoid(self.gate_query(audio))  # a_t * g_q: the q'_t factor, moved to a
        # a'_t . q'_t = sum_d a_d g_a,d q_d g_q,d: the same product with the gates swapped between the
        # factors, so the audio side is computed once per clip, not once per phrase.
        # Float32, as GroundingModel.dot_products: probabilities near 0 and 1 survive bf16 autocast.
        with torch.autocast(audio.device.type, enabled=False):
            return torch.einsum("bntd,btd->btn", gated_query.float(), gated_audio.float())
