"""A small CLAP bi-encoder whose text tower gives audio-centric phrase embeddings.

Alg. 1 and 2 of the paper need a text space where phrases naming the same or
acoustically similar sounds lie close together ("a dog barks" near "barking"), which a
purely semantic encoder does not guarantee. The paper gets it from CLAP trained on the
WSTAG training captions only, with no extra data (IV-A); so does this module. The
audio tower is a cheap 1-D CNN over log-mel frames (only its clip embedding is
needed, and it must train in a minute or two on a CPU); the text tower is the same
word-embedding mean as the grounding model, followed by an MLP, so a phrase and a
whole caption are embedded the same way.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from wstag.audio.features import SpecAugment
from wstag.audio.frames import N_MELS
from wstag.errors import ConfigError, ModelFolderError
from wstag.models.checkpoint import write_atomic
from wstag.models.crnn import length_mask
from wstag.models.text_encoder import TextEncoder, TextEncoderConfig, pad_token_ids
from wstag.text.vocabulary import Vocabulary

WEIGHTS = "clap.safetensors"
CONFIG = "clap.json"
VOCAB = "vocab.json"


@dataclass(frozen=True)
class ClapConfig:
    """Sizes of both towers; the vocabulary size comes from the data."""

    n_mels: int | None = None  # None: SPEC 1's 64; training fills it from the feature cache's front end
    channels: tuple[int, ...] = (64, 128, 128)
    word_dim: int = 256
    embed_dim: int = 256  # the joint space: phrase embeddings have this size
    dropout: float = 0.3  # before the audio projection: 2,000 clips overfit a CNN in a few epochs
    specaugment: bool = True

    def __post_init__(self) -> None:
        if self.n_mels is None:
            object.__setattr__(self, "n_mels", N_MELS)
        for key in ("n_mels", "word_dim", "embed_dim"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"clap.{key} must be a positive integer, got {value!r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"clap.dropout must lie in [0, 1), got {self.dropout!r}")
        if not self.channels or any(isinstance(c, bool) or not isinstance(c, int) or c <= 0 for c in self.channels):
            raise ConfigError(f"clap.channels must be a non-empty list of positive integers, got {self.channels!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClapConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"clap: unknown keys {sorted(unknown)}")
        d = dict(d)
        if "channels" in d:
            d["channels"] = tuple(d["channels"])
        return cls(**d)


class ClapAudioEncoder(nn.Module):
    """Log-mel (B, T, F) + lengths -> clip embedding (B, D): 1-D convs over time, mean+max pooled."""

    def __init__(self, config: ClapConfig) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(config.n_mels)
        self.specaugment = SpecAugment() if config.specaugment else nn.Identity()
        blocks, c_in = [], config.n_mels
        for c in config.channels:
            blocks.append(nn.Sequential(nn.Conv1d(c_in, c, 5, padding=2), nn.BatchNorm1d(c), nn.ReLU()))
            c_in = c
        self.blocks = nn.ModuleList(blocks)
        self.proj = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(2 * c_in, c_in), nn.ReLU(),
                                  nn.Linear(c_in, config.embed_dim))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(features.device).clamp_min(1)
        x = self.specaugment(self.norm(features.transpose(1, 2)).transpose(1, 2)).transpose(1, 2)  # (B, F, T)
        # Zeroing padded frames of the input and of every block's output makes a padded clip
        # see exactly what it sees alone (convs pad with zeros; after ReLU a zero never wins
        # a max-pool).
        x = torch.where(length_mask(lengths, x.shape[-1])[:, None, :], x, 0.0)
        for block in self.blocks:
            x = torch.where(length_mask(lengths, x.shape[-1])[:, None, :], block(x), 0.0)
            x = F.max_pool1d(x, 2, ceil_mode=True)
            lengths = (lengths + 1) // 2
        valid = length_mask(lengths, x.shape[-1])[:, None, :]  # (B, 1, T')
        mean = torch.where(valid, x, 0.0).sum(-1) / valid.sum(-1)
        peak = torch.where(valid, x, -torch.inf).amax(-1)
        return self.proj(torch.cat([mean, peak], dim=1))


class ClapModel(nn.Module):
    """Both towers and the learned temperature of the contrastive loss."""

    def __init__(self, vocab_size: int, config: ClapConfig = ClapConfig()) -> None:
        super().__init__()
        self.config = config
        self.audio = ClapAudioEncoder(config)
        self.words = TextEncoder(vocab_size, TextEncoderConfig(embed_dim=config.word_dim))
        self.text_proj = nn.Sequential(
            nn.Linear(config.word_dim, config.word_dim), nn.ReLU(), nn.Linear(config.word_dim, config.embed_dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    @property
    def vocab_size(self) -> int:
        return self.words.vocab_size

    def encode_audio(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, F), (B,) -> unit-norm (B, D)."""
        return F.normalize(self.audio(features, lengths), dim=-1)

    def encode_text(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(N, L), (N,) -> unit-norm (N, D)."""
        return F.normalize(self.text_proj(self.words(tokens, lengths)), dim=-1)

    def logits(self, audio: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Scaled cosine similarities (B_audio, B_text); the scale is capped at 100 as in CLIP."""
        return self.logit_scale.clamp(max=math.log(100.0)).exp() * audio @ text.T

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str], vocab: Vocabulary, batch: int = 1024) -> np.ndarray:
        """Unit-norm audio-centric embeddings (N, D) of ``texts`` (phrases or captions)."""
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, len(texts), batch):
            ids = [vocab.encode(t) for t in texts[start:start + batch]]
            out.append(self.encode_text(*pad_token_ids(ids)).cpu().numpy())
        self.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, self.config.embed_dim), dtype=np.float32)


def contrastive_loss(logits: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP): clip i matches caption i, both directions averaged."""
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def save_clap(folder: str | os.PathLike, model: ClapModel, vocab: Vocabulary, extra: dict | None = None) -> Path:
    """Write weights, config and vocabulary to ``folder``; the config last, so its presence means complete."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(folder / WEIGHTS, lambda tmp: save_file(weights, str(tmp)))
    vocab.save(folder / VOCAB)
    text = json.dumps({"clap": model.config.to_dict(), "vocab_size": model.vocab_size, **(extra or {})}, indent=2)
    write_atomic(folder / CONFIG, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
    return folder


def load_clap(folder: str | os.PathLike) -> tuple[ClapModel, Vocabulary]:
    """Read a folder written by ``save_clap``; any problem is a ``ModelFolderError`` naming it."""
    folder = Path(folder)
    if not (folder / CONFIG).is_file():
        raise ModelFolderError(f"CLAP folder {folder} has no {CONFIG} (not a CLAP folder, or training did not finish)")
    try:
        meta = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        config = ClapConfig.from_dict(meta["clap"])
        vocab = Vocabulary.load(folder / VOCAB)
        model = ClapModel(len(vocab), config)
        model.load_state_dict(load_file(str(folder / WEIGHTS)))
    except Exception as exc:  # noqa: BLE001 - JSON, config, vocabulary and weight errors all mean a bad folder
        raise ModelFolderError(f"CLAP folder {folder}: cannot be loaded: {' '.join(str(exc).split())}") from None
    return model.eval(), vocab
