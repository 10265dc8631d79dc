"""A diagnostic text encoder: one learned vector per sound class, none per word (issue 24).

It answers the question "what does the text side cost?": the phrase-level model with
this encoder knows exactly which phrases name the same sound (the benchmark's own class
of each training phrase, ``phrase_class``) and has nothing else to learn about text.
Fed every class as a phrase (``sampling.strategy: all_classes``) it is the weakly
labelled clip tagger of DCASE sound event detection written in this framework: the
ceiling a text encoder should approach. A phrase outside the table maps to a learned
``<unk>`` row, so it is no encoder for users' queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from wstag.errors import ConfigError
from wstag.models.minilm_text import normalise

KIND = "class"
_SPECIAL_IDS = 2  # <pad>, <unk> (wstag.text.vocabulary)


@dataclass(frozen=True)
class ClassTextEncoderConfig:
    """Config section ``text_encoder`` with ``kind: class``; ``phrase_class`` is filled from the corpus."""

    kind: str = KIND
    embed_dim: int = 512
    phrase_class: Mapping[str, str] = field(default_factory=dict)  # normalised phrase -> class name

    def __post_init__(self) -> None:
        if self.kind != KIND:
            raise ConfigError(f"text_encoder.kind must be {KIND!r} here, got {self.kind!r}")
        if isinstance(self.embed_dim, bool) or not isinstance(self.embed_dim, int) or self.embed_dim < 1:
            raise ConfigError(f"text_encoder.embed_dim must be a positive integer, got {self.embed_dim!r}")
        if not isinstance(self.phrase_class, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.phrase_class.items()):
            raise ConfigError("text_encoder.phrase_class must map phrase texts to class names")
        object.__setattr__(self, "phrase_class", {normalise(k): v for k, v in self.phrase_class.items()})

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.phrase_class.values()))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "embed_dim": self.embed_dim, "phrase_class": dict(self.phrase_class)}


CLASS_FIELDS = frozenset(f.name for f in fields(ClassTextEncoderConfig))


class ClassTextEncoder(nn.Module):
    """Token ids (N, L) + lengths (N,), or texts, -> the embedding of each phrase's class (N, D)."""

    def __init__(self, vocab_size: int, config: ClassTextEncoderConfig, words: Sequence[str] | None = None) -> None:
        super().__init__()
        if not config.phrase_class:
            raise ConfigError("text_encoder kind 'class' needs the corpus's phrase classes (train/labels.json): "
                              "train it on a corpus built by `wstag data build`")
        if words is not None and len(words) != vocab_size:
            raise ValueError(f"words has {len(words)} entries but vocab_size is {vocab_size}")
        self.config = config
        self._vocab_size = vocab_size
        self.words = list(words) if words is not None else None
        self.index = {name: i + 1 for i, name in enumerate(config.classes)}  # 0: <unk>
        self.embedding = nn.Embedding(len(self.index) + 1, config.embed_dim)
        nn.init.normal_(self.embedding.weight, std=config.embed_dim ** -0.5)  # as the word encoder starts

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    def _embed(self, texts: Sequence[str]) -> torch.Tensor:
        ids = torch.tensor([self.index.get(self.config.phrase_class.get(t, ""), 0) for t in texts],
                           dtype=torch.long, device=self.embedding.weight.device)
        present = torch.tensor([bool(t) for t in texts], device=ids.device)[:, None]
        return torch.where(present, self.embedding(ids), 0.0)  # padded phrases: a zero vector

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.words is None:
            raise ValueError("this class text encoder has no vocabulary to read token ids as text")
        rows, counts = tokens.tolist(), lengths.tolist()
        return self._embed([" ".join(self.words[i] for i in row[:n] if i >= _SPECIAL_IDS) for row, n in zip(rows, counts)])

    def encode_texts(self, phrases: Sequence[str]) -> torch.Tensor:
        return self._embed([normalise(p) for p in phrases])
