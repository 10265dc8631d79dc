"""The text encoder (paper V-B): a random-init word embedding averaged over a phrase.

Queries are mostly short phrases ("a dog barks"), so a bag of learned word vectors is
enough. Index 0 is padding (a zero row that gets no gradient); ``<unk>`` is an ordinary
learned row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from wstag.errors import ConfigError


@dataclass(frozen=True)
class TextEncoderConfig:
    """Config section ``text_encoder``; the vocabulary size comes from the data at build time."""

    embed_dim: int = 512

    def __post_init__(self) -> None:
        if isinstance(self.embed_dim, bool) or not isinstance(self.embed_dim, int) or self.embed_dim <= 0:
            raise ConfigError(f"text_encoder.embed_dim must be a positive integer, got {self.embed_dim!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TEXT_FIELDS = frozenset(f.name for f in fields(TextEncoderConfig))


class TextEncoder(nn.Module):
    """Token ids (N, L) + lengths (N,) -> phrase embeddings (N, D): mean of word vectors."""

    def __init__(self, vocab_size: int, config: TextEncoderConfig = TextEncoderConfig()) -> None:
        super().__init__()
        if vocab_size < 3:
            raise ConfigError(f"vocab_size must be >= 3 (<pad>, <unk> and a word), got {vocab_size}")
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embed_dim, padding_idx=0)
        # std D^-1/2 instead of torch's 1: a dot product with a D-dim audio embedding
        # then starts O(1), so s_fp = sigmoid(a . t) is not saturated at initialisation.
        nn.init.normal_(self.embedding.weight, std=config.embed_dim ** -0.5)
        with torch.no_grad():
            self.embedding.weight[0].zero_()

    @property
    def vocab_size(self) -> int:
        return self.embedding.num_embeddings

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """tokens (N, L) long, lengths (N,) -> (N, D). A zero-length row gives a zero vector."""
        if tokens.ndim != 2 or lengths.shape != tokens.shape[:1]:
            raise ValueError(f"TextEncoder expects tokens (N, L) and lengths (N,), got "
                             f"{tuple(tokens.shape)} and {tuple(lengths.shape)}")
        lengths = lengths.to(tokens.device)
        if bool((lengths < 0).any()) or bool((lengths > tokens.shape[1]).any()):
            raise ValueError(f"token lengths must lie in [0, {tokens.shape[1]}], got {lengths.tolist()}")
        valid = torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]  # (N, L)
        vectors = self.embedding(tokens)  # (N, L, D)
        total = torch.where(valid[:, :, None], vectors, 0.0).sum(dim=1)  # (N, D)
        return total / lengths.clamp_min(1)[:, None].to(vectors.dtype)


def pad_token_ids(ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists -> tokens (N, L) padded with 0 and lengths (N,): a TextEncoder's input."""
    tokens = torch.zeros(len(ids), max([1, *map(len, ids)]), dtype=torch.long)
    for row, seq in enumerate(ids):
        tokens[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return tokens, torch.tensor([len(seq) for seq in ids], dtype=torch.long)
